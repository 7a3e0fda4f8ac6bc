"""view_totals and spread_totals: page-view totals and medians, summarised

Revision ID: 0015_view_totals
Revises: 0014_band_totals

Per content item, UTC day, device and cohort: the page views, their active
time, fold heights, read-throughs and the extremes of their page heights and
deepest points (``view_totals``), and how many page views had each whole second
of active time and each whole percent of scroll depth (``spread_totals``, what a
median is read from). Refreshed like the other summaries; the content list and
the content page's totals read them instead of every page view. Filled here
from the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0015_view_totals"
down_revision: str | None = "0014_band_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("content_id", "day", "device", "lead", "sales", "stage")


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
    ]


def _create(table: str, about: list[sa.Column], figures: list[str]) -> None:
    op.create_table(
        table,
        *_key_columns(),
        *about,
        sa.Column("site_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in figures),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f(f"fk_{table}_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f(f"fk_{table}_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            *KEY, *(c.name for c in about), name=op.f(f"pk_{table}")
        ),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_site_id_day"), ["site_id", "day"])


def upgrade() -> None:
    _create(
        "view_totals",
        [],
        [
            "views",
            "active_ms",
            "viewport_h",
            "read_through",
            "doc_h_min",
            "doc_h_max",
            "scroll_px_max",
        ],
    )
    _create(
        "spread_totals",
        [
            sa.Column("measure", sa.String(length=12), nullable=False),
            sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        ],
        ["views"],
    )
    # The events stored so far, summarised by the code that keeps the tables.
    from resonance.core.models import SpreadTotal, ViewTotal
    from tracker.summaries import fill

    session = Session(bind=op.get_bind())
    fill(session, ViewTotal)
    fill(session, SpreadTotal)


def downgrade() -> None:
    op.drop_table("spread_totals")
    op.drop_table("view_totals")
