"""band_totals: attention by depth, summarised

Revision ID: 0014_band_totals
Revises: 0013_summary_changes

Per content item, UTC day, device and cohort, the active milliseconds each
100 px band was on screen and the page views that reported it (band -1: the
page views that reported any band), refreshed like the other summaries; the
content page's attention map by depth reads them instead of
``attention_bands``, the largest event table (45 rows a page view). Filled here
from the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0014_band_totals"
down_revision: str | None = "0013_summary_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "band_totals",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_band_totals_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_band_totals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "content_id",
            "day",
            "device",
            "lead",
            "sales",
            "stage",
            "band",
            name=op.f("pk_band_totals"),
        ),
    )
    with op.batch_alter_table("band_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_band_totals_site_id_day"), ["site_id", "day"]
        )
    # The events stored so far, summarised by the code that keeps the table
    # (this table only: later ones do not exist yet at this revision).
    from resonance.core.models import BandTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), BandTotal)


def downgrade() -> None:
    op.drop_table("band_totals")
