"""The content page: every query of one content item for one filter, and the
compared segment's clicks."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from dashboard.queries.attention import SectionRow, attention_sections
from dashboard.queries.clicks import (
    ElementRow,
    GridBin,
    Placement,
    click_grid,
    click_placement,
    top_elements,
)
from dashboard.queries.content_item import (
    ContentInfo,
    NoteRow,
    SnapshotInfo,
    ViewStats,
    content_notes,
    latest_snapshot,
    view_stats,
)
from dashboard.queries.depth import DepthMap, attention_by_depth
from dashboard.queries.scroll import ScrollReach, scroll_reach
from dashboard.queries.segments import ContentFilter
from tracker.grid_contributions import device_width


@dataclass(frozen=True)
class SegmentClicks:
    """One segment's clicks on the page, for a side-by-side comparison."""

    segment: str
    views: int
    bins: list[GridBin]


@dataclass(frozen=True)
class ContentReport:
    """Everything the content page shows, for one filter (and its JSON twin)."""

    content: ContentInfo
    segment: str
    device: str | None
    width_px: int
    snapshot: SnapshotInfo | None
    stats: ViewStats
    placement: Placement
    bins: list[GridBin]
    elements: list[ElementRow]
    scroll: ScrollReach
    sections: list[SectionRow]
    depth: DepthMap
    notes: list[NoteRow]
    compare: SegmentClicks | None


def content_report(
    session: Session,
    flt: ContentFilter,
    content: ContentInfo,
    compare: str | None = None,
) -> ContentReport:
    """Run every query of the content page for ``flt`` (and the compared
    segment's clicks), on the newest snapshot at the device's width."""
    width = device_width(flt.device)
    snap = latest_snapshot(session, content.content_id, width)
    snap_id = snap.snapshot_id if snap else None
    cid = content.content_id
    stats = view_stats(session, flt, cid)
    other = None
    if compare:
        other_flt = replace(flt, segment=compare)
        other = SegmentClicks(
            segment=compare,
            views=view_stats(session, other_flt, cid).views,
            bins=click_grid(session, other_flt, cid, width, snap_id),
        )
    return ContentReport(
        content=content,
        segment=flt.segment,
        device=flt.device,
        width_px=width,
        snapshot=snap,
        stats=stats,
        placement=click_placement(session, flt, cid, snap_id),
        bins=click_grid(session, flt, cid, width, snap_id),
        elements=top_elements(session, flt, cid, snapshot_id=snap_id),
        scroll=scroll_reach(session, flt, cid, stats),
        sections=attention_sections(session, flt, cid),
        depth=attention_by_depth(session, flt, cid),
        notes=content_notes(session, flt.site_key, cid),
        compare=other,
    )
