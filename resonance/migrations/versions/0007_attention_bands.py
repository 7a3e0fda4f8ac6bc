"""attention_bands: active time per 100 px band of the page, per page view

Revision ID: 0007_attention_bands
Revises: 0006_inbox

The snippet sends, on its attention event, the active milliseconds each 100 px
band of the page was on screen (cumulative, ``b``); the collector keeps the
maximum per band, as it does per section, and the content page draws the
average per page view as the attention map by depth. Deleted with the page
view (erasure, retention).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_attention_bands"
down_revision: str | None = "0006_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attention_bands",
        sa.Column("pageview_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pageview_id"],
            ["pageviews.id"],
            name=op.f("fk_attention_bands_pageview_id_pageviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pageview_id", "band", name=op.f("pk_attention_bands")),
    )


def downgrade() -> None:
    op.drop_table("attention_bands")
