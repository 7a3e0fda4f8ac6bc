"""element_totals.first_click_min: each element's first click, summarised

Revision ID: 0021_element_first_click
Revises: 0020_device_in_view_index

An element with neither a label on the snapshot nor a text is named by the
section its first click fell in. Finding that click meant reading every click
of the item; the least click id per summary row (an extreme, combined by MIN
like the other ``*_min`` figures) gives it from the summary. The table's rows
are recomputed here from the events stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0021_element_first_click"
down_revision: str | None = "0020_device_in_view_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    column = sa.Column(
        "first_click_min", sa.BigInteger(), nullable=False, server_default="0"
    )
    op.add_column("element_totals", column)
    # Emptied first: SQLite's batch alter copies the table.
    op.execute("DELETE FROM element_totals")
    with op.batch_alter_table("element_totals", schema=None) as batch_op:
        batch_op.alter_column("first_click_min", server_default=None)
    from resonance.core.models import ElementTotal
    from tracker.summaries import fill

    fill(Session(bind=op.get_bind()), ElementTotal)


def downgrade() -> None:
    with op.batch_alter_table("element_totals", schema=None) as batch_op:
        batch_op.drop_column("first_click_min")
