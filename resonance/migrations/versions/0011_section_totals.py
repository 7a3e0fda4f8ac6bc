"""section_totals: attention by section, summarised as events are stored

Revision ID: 0011_section_totals
Revises: 0010_digest_sent_week

Per content item, UTC day, device and cohort (linked to a lead, reached sales,
stage), the additive figures of attention by section, kept exact by
``tracker.summaries`` in the collector's transaction; the dashboard reads them
instead of scanning ``page_sections``. Filled here from the events stored so far
(the same as ``resonance rebuild-summaries``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0011_section_totals"
down_revision: str | None = "0010_digest_sent_week"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = (
    "views",
    "rows",
    "reached",
    "left_inside",
    "active_ms",
    "top_sum",
    "top_n",
    "idx_sum",
    "height_sum",
    "height_n",
)


def upgrade() -> None:
    op.create_table(
        "section_totals",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("heading", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_section_totals_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_section_totals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "content_id",
            "day",
            "device",
            "lead",
            "sales",
            "stage",
            "heading",
            "level",
            name=op.f("pk_section_totals"),
        ),
    )
    with op.batch_alter_table("section_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_section_totals_site_id_day"), ["site_id", "day"]
        )
    # The events stored so far, summarised by the code that keeps the table
    # (this table only: later ones do not exist yet at this revision).
    from resonance.core.models import SectionTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), SectionTotal)


def downgrade() -> None:
    op.drop_table("section_totals")
