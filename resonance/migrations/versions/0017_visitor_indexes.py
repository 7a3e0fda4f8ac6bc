"""visitor indexes: distinct visitors read from indexes alone

Revision ID: 0017_visitor_indexes
Revises: 0016_source_totals

Distinct visitors and leads do not add up across days, so the summaries cannot
hold them: the content list and the content page count them on the page views.
Two covering indexes let them read the index alone, with no table lookup per
page view (bench/RESULTS.md, 2026-12-07, "summaries for the content list"):
- pageviews (content_id, viewed_at) gains visitor_id (it replaces the
  two-column index: the same writes per page view);
- pageviews (site_id, content_id, visitor_id, viewed_at): the content list's
  count per item, in item and visitor order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_visitor_indexes"
down_revision: str | None = "0016_source_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_pageviews_content_id_viewed_at_visitor_id"),
        "pageviews",
        ["content_id", "viewed_at", "visitor_id"],
    )
    op.drop_index(op.f("ix_pageviews_content_id_viewed_at"), table_name="pageviews")
    op.create_index(
        op.f("ix_pageviews_site_id_content_id_visitor_id_viewed_at"),
        "pageviews",
        ["site_id", "content_id", "visitor_id", "viewed_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_pageviews_site_id_content_id_visitor_id_viewed_at"),
        table_name="pageviews",
    )
    op.create_index(
        op.f("ix_pageviews_content_id_viewed_at"),
        "pageviews",
        ["content_id", "viewed_at"],
    )
    op.drop_index(
        op.f("ix_pageviews_content_id_viewed_at_visitor_id"), table_name="pageviews"
    )
