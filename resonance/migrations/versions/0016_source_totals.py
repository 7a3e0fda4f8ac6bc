"""source_totals: the acquisition selects, summarised

Revision ID: 0016_source_totals
Revises: 0015_view_totals

Per content item, UTC day, device and cohort, the page views of each utm
source, utm campaign and referrer host: the content list's and content page's
source, campaign and referrer selects read them instead of every page view of
the site in the period. Filled here from the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0016_source_totals"
down_revision: str | None = "0015_view_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_totals",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_source_totals_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_source_totals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "content_id",
            "day",
            "device",
            "lead",
            "sales",
            "stage",
            "kind",
            "value",
            name=op.f("pk_source_totals"),
        ),
    )
    with op.batch_alter_table("source_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_totals_site_id_day"), ["site_id", "day"]
        )
    from resonance.core.models import SourceTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), SourceTotal)


def downgrade() -> None:
    op.drop_table("source_totals")
