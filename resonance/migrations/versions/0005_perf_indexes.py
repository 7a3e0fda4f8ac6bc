"""perf indexes: a covering index for a lead's first reads, notes by lead

Revision ID: 0003_perf
Revises: 0002

Found with EXPLAIN on 1 M generated events (bench/dashboard.py --explain):
- pageviews (visitor_id, viewed_at) gains content_id, so the influence figures
  (first view of each item per lead, reached through the lead's visitors) and
  the prospect page read the index alone, with no table lookup per page view.
  It replaces the two-column index (same writes per page view).
- clicks (content_id, clicked_at) becomes (content_id, pageview_id, clicked_at):
  the dashboard never filters clicks by time (dates filter page views), and
  reading an item's clicks in page-view order halves the CPU of the heatmap
  queries on SQLite (page-view lookups in order).
- notes (lead_id, created_at): the prospect page's notes were a full scan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_perf"
down_revision: str | None = "0003_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_pageviews_visitor_id_viewed_at_content_id"),
        "pageviews",
        ["visitor_id", "viewed_at", "content_id"],
    )
    op.drop_index(op.f("ix_pageviews_visitor_id_viewed_at"), table_name="pageviews")
    op.create_index(
        op.f("ix_clicks_content_id_pageview_id_clicked_at"),
        "clicks",
        ["content_id", "pageview_id", "clicked_at"],
    )
    op.drop_index(op.f("ix_clicks_content_id_clicked_at"), table_name="clicks")
    op.create_index(
        op.f("ix_notes_lead_id_created_at"), "notes", ["lead_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notes_lead_id_created_at"), table_name="notes")
    op.create_index(
        op.f("ix_clicks_content_id_clicked_at"), "clicks", ["content_id", "clicked_at"]
    )
    op.drop_index(
        op.f("ix_clicks_content_id_pageview_id_clicked_at"), table_name="clicks"
    )
    op.create_index(
        op.f("ix_pageviews_visitor_id_viewed_at"),
        "pageviews",
        ["visitor_id", "viewed_at"],
    )
    op.drop_index(
        op.f("ix_pageviews_visitor_id_viewed_at_content_id"), table_name="pageviews"
    )
