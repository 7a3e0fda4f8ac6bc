"""Attention by depth: how long each 100 px band of a page was on screen, on
average per page view, for a content item, a period and a segment.

Clarity's and Hotjar's attention maps show the same thing: where on the page
readers' screens rested, whoever scrolled how far. It complements attention per
section (``dashboard.queries.attention``), which follows the page's headings:
the snippet gives each active second to the bands on screen (in proportion to
how much of each was) and to the sections on screen (by the share of the
viewport each covers), so a section's time is that of its bands times 100 px
over the viewport's height.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter, filtered_views
from resonance.core.models import AttentionBand
from tracker.beacon import BAND_PX


@dataclass(frozen=True)
class DepthBand:
    """One band of the page: its top and the seconds it was on screen, on
    average per page view that reported bands."""

    top_px: int
    height_px: int
    avg_s: float


@dataclass(frozen=True)
class DepthMap:
    """The attention map by depth: ``views`` page views reported bands; every
    band from the top of the page to the deepest one seen, 0 s where none was."""

    views: int
    bands: list[DepthBand]

    @property
    def max_s(self) -> float:
        return max((band.avg_s for band in self.bands), default=0.0)


def attention_by_depth(
    session: Session, flt: ContentFilter, content_id: int
) -> DepthMap:
    """Average seconds on screen per page view of each 100 px band, over the
    page views ``flt`` selects that reported bands (summed and divided in SQL;
    a view that never showed a band counts as 0 s for it)."""
    views = filtered_views(session, flt, content_id)
    b = AttentionBand
    reported = (
        select(b.pageview_id)
        .join(views, views.c.id == b.pageview_id)
        .group_by(b.pageview_id)
        .subquery("reported")
    )
    count = select(func.count()).select_from(reported).scalar_subquery()
    rows = session.execute(
        select(b.band, cast(func.sum(b.ms), Float) / 1000.0 / count, count)
        .join(views, views.c.id == b.pageview_id)
        .group_by(b.band)
        .order_by(b.band)
    ).all()
    if not rows:
        return DepthMap(0, [])
    seconds = {band: float(avg_s) for band, avg_s, _ in rows}
    deepest = rows[-1][0]
    return DepthMap(
        views=rows[0][2],
        bands=[
            DepthBand(band * BAND_PX, BAND_PX, round(seconds.get(band, 0.0), 2))
            for band in range(deepest + 1)
        ],
    )
