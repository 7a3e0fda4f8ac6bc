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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from tracker.beacon import BAND_PX
from tracker.contributions import BANDS


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
    session: Session, flt: ContentFilter, content_id: int, *, raw: bool = False
) -> DepthMap:
    """Average seconds on screen per page view of each 100 px band, over the
    page views ``flt`` selects that reported bands (summed and divided in SQL;
    a view that never showed a band counts as 0 s for it). Whole days from the
    summaries, the rest raw (``raw``: all raw, never the summaries)."""
    both = summary_and_raw(session, BANDS, flt, content_id, raw)
    per_band = (
        select(
            both.c.band,
            func.sum(both.c.views).label("views"),
            func.sum(both.c.ms).label("ms"),
        )
        .group_by(both.c.band)
        .subquery("per_band")
    )
    rows = session.execute(
        select(per_band.c.band, per_band.c.views, per_band.c.ms)
        .where(per_band.c.views > 0)
        .order_by(per_band.c.band)
    ).all()
    reported = {int(band): int(views) for band, views, _ in rows}.get(-1, 0)
    if not reported:
        return DepthMap(0, [])
    seconds = {int(b): float(ms) / 1000.0 / reported for b, _, ms in rows if b >= 0}
    deepest = max(seconds)
    return DepthMap(
        views=reported,
        bands=[
            DepthBand(band * BAND_PX, BAND_PX, round(seconds.get(band, 0.0), 2))
            for band in range(deepest + 1)
        ],
    )
