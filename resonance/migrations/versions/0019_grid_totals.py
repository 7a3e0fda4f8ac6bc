"""grid_totals: the heatmap's click grid, summarised

Revision ID: 0019_grid_totals
Revises: 0018_click_totals

Per content item, UTC day, device and cohort: the clicks placed at each width
the content page draws (every device at the desktop width, a phone's and a
tablet's also at their own) on the item's newest snapshot there, per 8 px
square and clicked selector, with the page views that clicked there and the
tag. The heatmap reads them instead of placing every click of the item at each
request. Filled here from the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0019_grid_totals"
down_revision: str | None = "0018_click_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("content_id", "day", "device", "lead", "sales", "stage")
SQUARE = ("width", "x_bin", "y_bin", "selector")


def upgrade() -> None:
    op.create_table(
        "grid_totals",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("x_bin", sa.Integer(), nullable=False),
        sa.Column("y_bin", sa.Integer(), nullable=False),
        sa.Column("selector", sa.String(length=512), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("tag_max", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_grid_totals_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_grid_totals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*KEY, *SQUARE, name=op.f("pk_grid_totals")),
    )
    with op.batch_alter_table("grid_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_totals_site_id_day"), ["site_id", "day"]
        )
    from resonance.core.models import GridTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), GridTotal)


def downgrade() -> None:
    op.drop_table("grid_totals")
