"""Where people click on a content item: clicks placed on the snapshot and
binned for the heatmap, how they were placed, and the most clicked elements
with their rage, dead and error clicks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.element_names import common_texts, element_names
from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import Click, SnapshotElement
from tracker.contributions import ELEMENTS

BIN_PX = 8


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
    their bin, as a materialized CTE.

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
        x, y = fallback_x, cast(Click.y, Float)
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
    return (
        stmt.add_columns(
            x.label("x"),
            y.label("y"),
            cast(x // bin_px, Integer).label("bx"),
            cast(y // bin_px, Integer).label("by"),
        )
        .where(Click.content_id == content_id)
        # Read twice (counts, top element) by one statement, placed once.
        .cte("placed")
        .prefix_with("MATERIALIZED")
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
    counts = (
        select(
            placed.c.bx,
            placed.c.by,
            func.count().label("clicks"),
            func.count(func.distinct(placed.c.visitor_id)).label("visitors"),
        )
        .group_by(placed.c.bx, placed.c.by)
        .subquery("counts")
    )
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
    rows = session.execute(
        select(
            counts.c.bx,
            counts.c.by,
            counts.c.clicks,
            counts.c.visitors,
            ranked.c.selector,
            ranked.c.tag,
        )
        .join(
            ranked,
            and_(
                ranked.c.bx == counts.c.bx,
                ranked.c.by == counts.c.by,
                ranked.c.rank == 1,
            ),
        )
        .order_by(counts.c.by, counts.c.bx)
    ).all()
    tags = {row.selector: row.tag for row in rows}
    texts = common_texts(session, flt, content_id, tags)
    names = element_names(
        session, content_id, tags, tags, texts, snapshot_id=snapshot_id, sections=False
    )
    bins = []
    for bx, by, n, v, sel, _tag in rows:
        name = names[sel].name if sel in names else ""
        bins.append(GridBin(bx * bin_px, by * bin_px, n, v, sel, name))
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
    views = filtered_views(session, flt, content_id)
    names = element_names(session, content_id, tags, tags, texts, views, snapshot_id)
    return [
        ElementRow(names[sel].name, names[sel].source, sel, tag, texts.get(sel, ""), *n)
        for sel, tag, *n in rows
    ]
