"""device in the content page's page-view index

Revision ID: 0020_device_in_view_index
Revises: 0019_grid_totals

pageviews (content_id, viewed_at, visitor_id) gains device: the content page
of one device class counts its distinct visitors from the index alone and its
daily trend looks up only that device's page views (at 10 M events on SQLite,
bench/RESULTS.md, sixth session). A page view's device is set when it is
stored and never updated, so PostgreSQL's in-place (HOT) updates of its scroll
depth and active time are not affected. It replaces the three-column index:
the same writes per page view.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_device_in_view_index"
down_revision: str | None = "0019_grid_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["content_id", "viewed_at", "visitor_id"]
NEW = [*OLD, "device"]


def upgrade() -> None:
    op.create_index(op.f("ix_pageviews_" + "_".join(NEW)), "pageviews", NEW)
    op.drop_index(op.f("ix_pageviews_" + "_".join(OLD)), table_name="pageviews")


def downgrade() -> None:
    op.create_index(op.f("ix_pageviews_" + "_".join(OLD)), "pageviews", OLD)
    op.drop_index(op.f("ix_pageviews_" + "_".join(NEW)), table_name="pageviews")
