"""element_totals, text_totals: the top clicked elements, summarised

Revision ID: 0018_click_totals
Revises: 0017_visitor_indexes

Per content item, UTC day, device and cohort: each clicked selector's clicks,
the page views with a click on it, its rage, dead and error clicks and its tag;
and the clicks of each selector that carried each text (an element's most
common text names it). The content page's elements table and the heatmap's
element names read them instead of every click of the item. Filled here from
the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0018_click_totals"
down_revision: str | None = "0017_visitor_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("content_id", "day", "device", "lead", "sales", "stage", "selector")


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("sales", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("selector", sa.String(length=512), nullable=False),
    ]


def _create(table: str, columns: list[sa.Column], key: tuple[str, ...]) -> None:
    op.create_table(
        table,
        *_key_columns(),
        *columns,
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
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_site_id_day"), ["site_id", "day"])


def upgrade() -> None:
    _create(
        "element_totals",
        [
            sa.Column("site_id", sa.Integer(), nullable=False),
            sa.Column("clicks", sa.BigInteger(), nullable=False),
            sa.Column("views", sa.BigInteger(), nullable=False),
            sa.Column("rage", sa.BigInteger(), nullable=False),
            sa.Column("dead", sa.BigInteger(), nullable=False),
            sa.Column("error", sa.BigInteger(), nullable=False),
            sa.Column("tag_max", sa.String(length=16), nullable=False),
        ],
        KEY,
    )
    _create(
        "text_totals",
        [
            sa.Column("text", sa.String(length=60), nullable=False),
            sa.Column("site_id", sa.Integer(), nullable=False),
            sa.Column("clicks", sa.BigInteger(), nullable=False),
        ],
        (*KEY, "text"),
    )
    from resonance.core.models import TextTotal
    from tracker.summaries import fill

    # element_totals is filled by 0021, which gives it its last column: a fill
    # runs today's definition, which writes every column the model has.
    fill(Session(bind=op.get_bind()), TextTotal)


def downgrade() -> None:
    op.drop_table("text_totals")
    op.drop_table("element_totals")
