"""summary_changes: content-days whose summaries wait for a refresh

Revision ID: 0013_summary_changes
Revises: 0012_depth_totals

The collector (and a visitor's change of cohort, and erasure) marks the content
item's day in the transaction of the change instead of rewriting summary rows
there: no summary row is locked by a request, so concurrent writers never wait
on each other for them. The dashboard reads a marked day raw;
``tracker.summaries.refresh`` recomputes past marked days and deletes the marks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_summary_changes"
down_revision: str | None = "0012_depth_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_summary_changes_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_changes")),
    )
    with op.batch_alter_table("summary_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_summary_changes_content_id_day"), ["content_id", "day"]
        )


def downgrade() -> None:
    op.drop_table("summary_changes")
