"""visitors.first_view_at: the overview counts visitors with a page view from an index

Revision ID: 0022_visitor_first_view
Revises: 0021_element_first_click

The overview's visitors are a site's visitors with a page view. Counting them
probed the page views once per visitor (bench/RESULTS.md, seventh
session). Ingest now keeps each
visitor's earliest page view time (the purge too, when it deletes it), and
``(site_id, first_view_at)`` counts them from the index. Filled here from the
page views stored so far.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_visitor_first_view"
down_revision: str | None = "0021_element_first_click"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["site_id", "first_view_at"]


def upgrade() -> None:
    op.add_column("visitors", sa.Column("first_view_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE visitors SET first_view_at = (SELECT min(p.viewed_at)"
        " FROM pageviews p WHERE p.visitor_id = visitors.id)"
    )
    op.create_index(op.f("ix_visitors_" + "_".join(COLUMNS)), "visitors", COLUMNS)


def downgrade() -> None:
    op.drop_index(op.f("ix_visitors_" + "_".join(COLUMNS)), table_name="visitors")
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_column("first_view_at")
