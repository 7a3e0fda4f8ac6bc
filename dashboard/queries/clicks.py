"""Where people click on a content item: clicks placed on the snapshot and
binned for the heatmap, how they were placed, and the most clicked elements
with their rage, dead and error clicks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.element_names import common_texts, element_names
from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import SnapshotElement
from tracker.contributions import ELEMENTS, GRID, combined
from tracker.grid_contributions import (
    BIN_PX,
    GRID_FIGURES,
    device_width,
    grid_contributions,
    newest_snapshots,
)


@dataclass(frozen=True)
class GridBin:
    """Clicks placed in one ``bin_px`` square of the page (top-left corner)."""

    x_px: int
    y_px: int
    clicks: int
    views: int  # page views with a click here (one that clicked two elements: 2)
    selector: str = ""  # the element clicked most in this square, for the hover
    name: str = ""  # its human name (dashboard.queries.element_names)


@dataclass(frozen=True)
class Placement:
    """How the clicks were placed: on their element's box in the snapshot, or by
    the fallback (x scaled by viewport width, y as recorded). Many fallbacks mean
    the page changed since the snapshot, or there is none."""

    clicks: int
    by_element: int
    by_fallback: int
    by_element_pct: float
    by_fallback_pct: float


def _squares(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None,
    bin_px: int,
    raw: bool,
):
    """The clicks of the selected page views per square and selector (columns
    ``x_bin``, ``y_bin``, ``selector``, ``clicks``, ``views``, ``tag_max``).

    The content page's own drawing (the device's width, the newest snapshot
    there, :data:`BIN_PX`) is summarised (``tracker.grid_contributions``);
    any other is placed from the raw clicks by the same definition."""
    newest = newest_snapshots(width_px)
    summarised = (width_px, bin_px) == (device_width(flt.device), BIN_PX)
    summarised = summarised and snapshot_id == session.scalar(
        select(newest.c.id).where(newest.c.content_id == content_id, newest.c.rank == 1)
    )
    if summarised:
        summed = summary_and_raw(session, GRID, flt, content_id, raw)
        where = [summed.c.width == width_px]
    else:
        views = filtered_views(session, flt, content_id)
        at = (width_px, snapshot_id)
        summed = grid_contributions(views, at=at, bin_px=bin_px).subquery("summed")
        where = []
    g = summed.c
    return (
        select(
            g.x_bin,
            g.y_bin,
            g.selector,
            *(combined(f, g[f]).label(f) for f in GRID_FIGURES),
        )
        .where(*where)
        .group_by(g.x_bin, g.y_bin, g.selector)
        .subquery("squares")
    )


def click_grid(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None = None,
    bin_px: int = BIN_PX,
    raw: bool = False,
) -> list[GridBin]:
    """Clicks per ``bin_px`` square of a page ``width_px`` wide (placed on
    ``snapshot_id``'s boxes), top to bottom, each with the page views that
    clicked there and the element clicked most in it, with its name (``raw``:
    from the clicks alone, never the summaries)."""
    squares = _squares(session, flt, content_id, width_px, snapshot_id, bin_px, raw)
    s = squares.c
    # Per square: its totals, and its most clicked selector (ties: A before B).
    ranked = select(
        s.x_bin,
        s.y_bin,
        func.sum(s.clicks).over(partition_by=(s.x_bin, s.y_bin)).label("clicks"),
        func.sum(s.views).over(partition_by=(s.x_bin, s.y_bin)).label("views"),
        s.selector,
        s.tag_max,
        func.row_number()
        .over(partition_by=(s.x_bin, s.y_bin), order_by=(s.clicks.desc(), s.selector))
        .label("rank"),
    ).subquery("ranked")
    r = ranked.c
    rows = session.execute(
        select(r.x_bin, r.y_bin, r.clicks, r.views, r.selector, r.tag_max)
        .where(r.rank == 1)
        .order_by(r.y_bin, r.x_bin)
    ).all()
    tags = {row.selector: row.tag_max for row in rows}
    texts = common_texts(session, flt, content_id, tags, raw)
    names = element_names(session, content_id, tags, tags, texts, None, snapshot_id)
    bins = []
    for bx, by, n, v, sel, _tag in rows:
        name = names[sel].name if sel in names else ""
        bins.append(GridBin(bx * bin_px, by * bin_px, int(n), int(v), sel, name))
    return bins


def click_placement(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    snapshot_id: int | None = None,
    raw: bool = False,
) -> Placement:
    """How many of the clicks were placed on their element (their selector has
    a box in the snapshot), how many by fallback: from clicks by element
    (``raw``: from the clicks alone)."""
    summed = summary_and_raw(session, ELEMENTS, flt, content_id, raw)
    boxed = select(SnapshotElement.selector).where(
        SnapshotElement.snapshot_id == snapshot_id,
        SnapshotElement.width_px > 0,
        SnapshotElement.height_px > 0,
    )
    on_element = case((summed.c.selector.in_(boxed), summed.c.clicks), else_=0)
    total, on_element = session.execute(
        select(
            cast(func.coalesce(func.sum(summed.c.clicks), 0), BigInteger),
            cast(func.coalesce(func.sum(on_element), 0), BigInteger),
        )
    ).one()
    fallback = total - on_element
    return Placement(
        clicks=total,
        by_element=on_element,
        by_fallback=fallback,
        by_element_pct=round(100 * on_element / total, 1) if total else 0.0,
        by_fallback_pct=round(100 * fallback / total, 1) if total else 0.0,
    )


@dataclass(frozen=True)
class ElementRow:
    """One clicked element: its human name (and where the name came from: the
    snapshot's label, the clicks' text, its section or its tag), how often, in
    how many page views, and the frustration signals."""

    name: str
    name_source: str
    selector: str
    tag: str
    text: str
    clicks: int
    views: int
    rage_clicks: int
    dead_clicks: int
    error_clicks: int


# The figures of an element row, in ElementRow's order.
_COUNTS = ("clicks", "views", "rage", "dead", "error")


def top_elements(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    limit: int | None = 20,
    snapshot_id: int | None = None,
    raw: bool = False,
) -> list[ElementRow]:
    """The most clicked elements (``limit`` None: all), named by
    :func:`element_names` (labels from ``snapshot_id``), with the page views
    that clicked them and their rage, dead and error clicks
    (``tracker.click_contributions`` defines them), read from clicks by element
    (``raw``: from the clicks alone)."""
    summed = summary_and_raw(session, ELEMENTS, flt, content_id, raw)
    e = summed.c
    clicks = func.sum(e.clicks)
    rows = session.execute(
        select(
            e.selector,
            func.max(e.tag_max),
            *(cast(func.sum(e[f]), BigInteger) for f in _COUNTS),
        )
        .group_by(e.selector)
        .order_by(clicks.desc(), e.selector)
        .limit(limit)
    ).all()
    tags = {row[0]: row[1] for row in rows}
    texts = common_texts(session, flt, content_id, tags, raw)
    names = element_names(
        session, content_id, tags, tags, texts, flt, snapshot_id, raw=raw
    )
    return [
        ElementRow(names[sel].name, names[sel].source, sel, tag, texts.get(sel, ""), *n)
        for sel, tag, *n in rows
    ]
