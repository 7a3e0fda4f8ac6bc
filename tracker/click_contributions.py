"""What the page views of a set add to the click summaries: clicks by element
(with rage, dead and error clicks) and what clicked elements said. Part of
``tracker.contributions``, which registers them with the other summaries.

Must not import: Flask, the dashboard. Writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, select

from resonance.core.dialect import epoch_ms
from resonance.core.models import Click

# A rage click (PostHog's rule): the third of 3 or more clicks in one page view,
# each under 1,000 ms and under 30 px (|dx|+|dy|) from the one before.
RAGE_CLICKS = 3
RAGE_WINDOW_MS = 1000
RAGE_DISTANCE_PX = 30


def element_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to clicks by element: per ``keys``
    columns and selector, the figures of :data:`ELEMENT_FIGURES`.

    One run of close clicks (see :data:`RAGE_CLICKS`) counts one rage click,
    on the element of its third click. Window functions find them: LAG gives
    each click its predecessor in the page view, a running SUM numbers the
    runs, ROW_NUMBER finds each run's third click. A page view's clicks all
    share its key, so the runs never cross summary rows.
    """
    c = Click
    at_ms = epoch_ms(c.clicked_at)
    before = {"partition_by": c.pageview_id, "order_by": (c.clicked_at, c.id)}
    ordered = (
        select(
            *(views.c[k] for k in keys),
            c.id,
            c.pageview_id,
            c.selector,
            c.tag,
            c.dead,
            c.error,
            at_ms.label("at_ms"),
            c.x,
            c.y,
            func.lag(at_ms).over(**before).label("prev_ms"),
            func.lag(c.x).over(**before).label("prev_x"),
            func.lag(c.y).over(**before).label("prev_y"),
        )
        .join(views, views.c.id == c.pageview_id)
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
    grouping = [k[key] for key in keys] + [k.selector]
    return select(
        *grouping,
        func.count().label("clicks"),
        func.count(func.distinct(k.pageview_id)).label("views"),
        func.sum(case((k.pos == RAGE_CLICKS, 1), else_=0)).label("rage"),
        func.sum(case((k.dead.is_(True), 1), else_=0)).label("dead"),
        func.sum(case((k.error.is_(True), 1), else_=0)).label("error"),
        func.max(k.tag).label("tag_max"),
        func.min(k.id).label("first_click_min"),
    ).group_by(*grouping)


def text_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to what clicked elements said: per
    ``keys`` columns, selector and non-empty text, the ``clicks``."""
    c = Click
    grouping = [views.c[k] for k in keys] + [c.selector, c.text]
    return (
        select(*grouping, func.count().label("clicks"))
        .join(views, views.c.id == c.pageview_id)
        .where(func.trim(c.text) != "")
        .group_by(*grouping)
    )
