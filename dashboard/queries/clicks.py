"""Where people click on a content item: clicks placed on the snapshot and
binned for the heatmap, how they were placed, and the most clicked elements
with their rage, dead and error clicks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.element_names import common_texts, element_names
from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.sql import epoch_ms
from resonance.core.models import Click, SnapshotElement

BIN_PX = 8
RAGE_CLICKS = 3
RAGE_WINDOW_MS = 1000
RAGE_DISTANCE_PX = 30


@dataclass(frozen=True)
class GridBin:
    """Clicks placed in one ``bin_px`` square of the page (top-left corner)."""

    x_px: int
    y_px: int
    clicks: int
    visitors: int
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


def _placed_clicks(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None,
    bin_px: int,
):
    """The selected page views' clicks placed on a page ``width_px`` wide, with
    their bin, as a subquery.

    Placement (Clarity's method): ``box.left + fx·box.width``, ``box.top +
    fy·box.height`` of the element with the click's selector in the snapshot; else
    PostHog's ``x / viewport_w · width`` with y unchanged.
    """
    views = filtered_views(session, flt, content_id)
    fallback_x = (
        cast(Click.x, Float)
        * width_px
        / func.coalesce(func.nullif(Click.viewport_w, 0), width_px)
    )
    stmt = select(
        Click.id, Click.pageview_id, Click.selector, Click.tag, views.c.visitor_id
    ).join(views, views.c.id == Click.pageview_id)
    if snapshot_id is None:
        x, y, on_element = fallback_x, cast(Click.y, Float), False
    else:
        box = SnapshotElement
        stmt = stmt.outerjoin(
            box,
            and_(
                box.snapshot_id == snapshot_id,
                box.selector == Click.selector,
                box.width_px > 0,
                box.height_px > 0,
            ),
        )
        on_element = box.selector.is_not(None)
        x = case((on_element, box.left_px + Click.fx * box.width_px), else_=fallback_x)
        y = case(
            (on_element, box.top_px + Click.fy * box.height_px),
            else_=cast(Click.y, Float),
        )
    flag = case((on_element, 1), else_=0) if snapshot_id is not None else 0
    return (
        stmt.add_columns(
            x.label("x"),
            y.label("y"),
            cast(x // bin_px, Integer).label("bx"),
            cast(y // bin_px, Integer).label("by"),
            cast(flag, Integer).label("on_element"),
        )
        .where(Click.content_id == content_id)
        .subquery("placed")
    )


def click_grid(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None = None,
    bin_px: int = BIN_PX,
) -> list[GridBin]:
    """Clicks per ``bin_px`` square of the page, binned in SQL, top to bottom,
    each with the element clicked most in it and that element's name."""
    placed = _placed_clicks(session, flt, content_id, width_px, snapshot_id, bin_px)
    rows = session.execute(
        select(
            placed.c.bx,
            placed.c.by,
            func.count(),
            func.count(func.distinct(placed.c.visitor_id)),
        )
        .group_by(placed.c.bx, placed.c.by)
        .order_by(placed.c.by, placed.c.bx)
    ).all()
    # The most clicked selector of each square (ties: A before B).
    ranked = (
        select(
            placed.c.bx,
            placed.c.by,
            placed.c.selector,
            func.max(placed.c.tag).label("tag"),
            func.row_number()
            .over(
                partition_by=(placed.c.bx, placed.c.by),
                order_by=(func.count().desc(), placed.c.selector),
            )
            .label("rank"),
        )
        .group_by(placed.c.bx, placed.c.by, placed.c.selector)
        .subquery("ranked")
    )
    top = {
        (bx, by): (sel, tag)
        for bx, by, sel, tag in session.execute(
            select(ranked.c.bx, ranked.c.by, ranked.c.selector, ranked.c.tag).where(
                ranked.c.rank == 1
            )
        )
    }
    tags = dict(top.values())
    views = filtered_views(session, flt, content_id)
    names = element_names(
        session, content_id, tags, tags, views, snapshot_id, sections=False
    )
    bins = []
    for bx, by, n, v in rows:
        sel = top.get((bx, by), ("", ""))[0]
        name = names[sel].name if sel in names else ""
        bins.append(GridBin(bx * bin_px, by * bin_px, n, v, sel, name))
    return bins


def click_placement(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None = None,
) -> Placement:
    """How many of the clicks were placed on their element, how many by fallback."""
    placed = _placed_clicks(session, flt, content_id, width_px, snapshot_id, BIN_PX)
    total, on_element = session.execute(
        select(func.count(), func.coalesce(func.sum(placed.c.on_element), 0))
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
    snapshot's label, the clicks' text, its section or its tag), how often, by
    how many, and the frustration signals."""

    name: str
    name_source: str
    selector: str
    tag: str
    text: str
    clicks: int
    visitors: int
    rage_clicks: int
    dead_clicks: int
    error_clicks: int


def top_elements(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    limit: int | None = 20,
    snapshot_id: int | None = None,
) -> list[ElementRow]:
    """The most clicked elements (``limit`` None: all), named by
    :func:`element_names` (labels from ``snapshot_id``), with rage, dead and
    error clicks.

    A rage click (PostHog's rule) is a run of 3 or more clicks in one page view,
    each under 1,000 ms and under 30 px (|dx|+|dy|) from the one before; one run
    counts once, on the element of its third click. Computed with window
    functions: LAG finds each click's predecessor, a running SUM numbers the runs,
    ROW_NUMBER finds each run's third click.
    """
    views = filtered_views(session, flt, content_id)
    at_ms = epoch_ms(session, Click.clicked_at)
    order = (Click.clicked_at, Click.id)
    ordered = (
        select(
            Click.id,
            Click.pageview_id,
            Click.selector,
            Click.tag,
            Click.text,
            Click.dead,
            Click.error,
            views.c.visitor_id,
            at_ms.label("at_ms"),
            Click.x,
            Click.y,
            func.lag(at_ms)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_ms"),
            func.lag(Click.x)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_x"),
            func.lag(Click.y)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_y"),
        )
        .join(views, views.c.id == Click.pageview_id)
        .where(Click.content_id == content_id)
        .subquery("ordered")
    )
    o = ordered.c
    close = and_(
        o.prev_ms.is_not(None),
        o.at_ms - o.prev_ms < RAGE_WINDOW_MS,
        func.abs(o.x - o.prev_x) + func.abs(o.y - o.prev_y) < RAGE_DISTANCE_PX,
    )
    runs = select(
        ordered,
        func.sum(case((close, 0), else_=1))
        .over(partition_by=o.pageview_id, order_by=(o.at_ms, o.id))
        .label("run"),
    ).subquery("runs")
    r = runs.c
    ranked = select(
        runs,
        func.row_number()
        .over(partition_by=(r.pageview_id, r.run), order_by=(r.at_ms, r.id))
        .label("pos"),
    ).subquery("ranked")
    k = ranked.c
    clicks = func.count().label("clicks")
    rows = session.execute(
        select(
            k.selector,
            func.max(k.tag),
            func.max(k.text),  # replaced by the most common text below
            clicks,
            func.count(func.distinct(k.visitor_id)),
            func.sum(case((k.pos == RAGE_CLICKS, 1), else_=0)),
            func.sum(case((k.dead.is_(True), 1), else_=0)),
            func.sum(case((k.error.is_(True), 1), else_=0)),
        )
        .group_by(k.selector)
        .order_by(clicks.desc(), k.selector)
        .limit(limit)
    ).all()
    tags = {row[0]: row[1] for row in rows}
    texts = common_texts(session, content_id, tags, views)
    names = element_names(
        session, content_id, tags, tags, views, snapshot_id, texts=texts
    )
    return [
        ElementRow(
            names[sel].name, names[sel].source, sel, tag, texts.get(sel, ""), *rest
        )
        for sel, tag, _text, *rest in rows
    ]
