"""depth_totals: scroll reach, summarised as events are stored

Revision ID: 0012_depth_totals
Revises: 0011_section_totals

Per content item, UTC day, device and cohort, the page views whose deepest point
fell in each 100 px band and each tenth of the page, kept exact by
``tracker.summaries`` in the collector's transaction; the content page's scroll
reach reads them instead of every page view of the item. Filled here from the
events stored so far (with the other summaries: a rebuild is idempotent).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0012_depth_totals"
down_revision: str | None = "0011_section_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "depth_totals",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_depth_totals_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_depth_totals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "content_id",
            "day",
            "device",
            "lead",
            "sales",
            "stage",
            "measure",
            "value",
            name=op.f("pk_depth_totals"),
        ),
    )
    with op.batch_alter_table("depth_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_depth_totals_site_id_day"), ["site_id", "day"]
        )
    # The events stored so far, summarised by the code that keeps the table
    # (this table only: later ones do not exist yet at this revision).
    from resonance.core.models import DepthTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), DepthTotal)


def downgrade() -> None:
    op.drop_table("depth_totals")
