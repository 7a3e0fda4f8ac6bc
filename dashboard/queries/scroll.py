"""How far down a content item readers scroll: the share of page views reaching
each 100 px band and each tenth of the page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.content_item import ViewStats, view_stats
from dashboard.queries.segments import ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from tracker.contributions import DEPTH, SCROLL_BAND_PX

# Above this ratio of the longest to the shortest page, pixel depths of different
# views are not comparable and scroll reach is read per tenth of the page.
DOC_HEIGHT_SPREAD = 1.3


@dataclass(frozen=True)
class ScrollBand:
    """How many page views reached ``top_px`` (their deepest point was at or
    below it); ``height_px`` is the band's height, for drawing."""

    top_px: int
    height_px: int
    views: int
    pct: float


@dataclass(frozen=True)
class ScrollReach:
    """Scroll reach of a content item: per 100 px band, and per tenth of the page
    (used when the page heights of the views differ too much for pixels)."""

    views: int
    avg_fold_px: int
    by_tenth: bool
    bands: list[ScrollBand]
    tenths: list[ScrollBand]
    # The deepest band that 75, 50 and 25 % of the views reached (top px).
    marks: dict[int, int]


def scroll_reach(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    stats: ViewStats | None = None,
    *,
    raw: bool = False,
) -> ScrollReach:
    """Share of page views reaching each 100 px band and each tenth of the page
    (``raw``: from the raw page views only, never the summaries, to check them).

    PostHog's method: count views per deepest band, then a running
    ``SUM(count) OVER (ORDER BY band DESC)`` gives the views reaching each band.
    """
    stats = stats or view_stats(session, flt, content_id)
    bands, tenths = _reached(session, flt, content_id, raw)
    total = stats.views
    px_bands = [
        ScrollBand(b * SCROLL_BAND_PX, SCROLL_BAND_PX, n, _pct(n, total))
        for b, n in _fill(bands, stats.max_scroll_px // SCROLL_BAND_PX)
    ]
    height = stats.max_doc_h
    pct_bands = [
        ScrollBand(round(t * height / 10), round(height / 10), n, _pct(n, total))
        for t, n in _fill(tenths, 10 if total else -1)
    ]
    by_tenth = bool(total) and stats.max_doc_h > DOC_HEIGHT_SPREAD * max(
        stats.min_doc_h, 1
    )
    shown = pct_bands if by_tenth else px_bands
    marks = {
        p: max((b.top_px for b in shown if b.pct >= p), default=0) for p in (75, 50, 25)
    }
    return ScrollReach(total, stats.avg_fold_px, by_tenth, px_bands, pct_bands, marks)


def _reached(
    session: Session, flt: ContentFilter, content_id: int, raw: bool
) -> tuple[dict[int, int], dict[int, int]]:
    """Views reaching each band that some view ended in, by 100 px and by
    tenth: views per deepest band (summaries for whole days, raw page views for
    the rest, ``tracker.contributions.depth_contributions``), accumulated from the
    bottom by a window SUM."""
    deepest = summary_and_raw(session, DEPTH, flt, content_id, raw)
    counts = (
        select(
            deepest.c.measure,
            deepest.c.value.label("band"),
            func.sum(deepest.c.views).label("n"),
        )
        .group_by(deepest.c.measure, deepest.c.value)
        .subquery("counts")
    )
    reaching = func.sum(counts.c.n).over(
        partition_by=counts.c.measure, order_by=counts.c.band.desc()
    )
    rows = session.execute(
        select(counts.c.measure, counts.c.band, reaching)
        .where(counts.c.n > 0)
        .order_by(counts.c.measure, counts.c.band)
    )
    reached: dict[str, dict[int, int]] = {"px": {}, "tenth": {}}
    for measure, band, n in rows:
        reached[measure][int(band)] = int(n)
    return reached["px"], reached["tenth"]


def _fill(reached: dict[int, int], last: int) -> list[tuple[int, int]]:
    """Every band 0…last with its count: a band nobody ended in has the count of
    the next deeper band that someone did (aggregated rows only)."""
    filled: list[tuple[int, int]] = []
    carry = 0
    for band in range(max(last, max(reached, default=-1)), -1, -1):
        carry = reached.get(band, carry)
        filled.append((band, carry))
    return filled[::-1]


def _pct(part: float, total: float) -> float:
    return round(100 * part / total, 1) if total else 0.0
