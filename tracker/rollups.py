"""Daily per-content figures that outlive raw events.

Owns: ``content_daily`` (one row per content item, UTC day and device class) and
the long-term totals read from it. Retention (``tracker.lifecycle.purge``) deletes
raw page views after a window; before it does, :func:`refresh` rolls every
complete day up, so views, visitor-days, active time, scroll reach and clicks stay
exact for ever.

Idempotent by construction: a refresh replaces the rows of the days it covers
with a fresh ``INSERT … SELECT … GROUP BY`` over the raw rows (late scroll or
attention updates of yesterday's page views are picked up by the next run; running
twice never doubles). Days whose raw events were purged are final and never
recomputed: ``rollup_state.purged_before`` marks where raw data begins.

Totals (:func:`content_totals`) add the rolled-up days before
``rollup_state.rolled_until`` to the raw rows after it, so they are exact at any
moment, before or after a purge. Medians need the raw rows and are not kept.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import (
    Integer,
    case,
    cast,
    delete,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from resonance.core.models import Click, ContentDaily, PageView, RollupState, Site

REACH_STEPS = (25, 50, 75, 100)
# The figures of a day row, in the order of ``content_daily``'s value columns.
FIGURES = (
    "views",
    "visitors",
    "active_ms",
    *(f"reached_{pct}" for pct in REACH_STEPS),
    "clicks",
    "dead_clicks",
    "error_clicks",
)


def midnight(day: date) -> datetime:
    """The naive UTC datetime a day starts at (``*_at`` columns are naive UTC)."""
    return datetime.combine(day, time.min)


def daily_figures(site_id: int, since: datetime | None, until: datetime | None):
    """Raw page views of a site aggregated per content item, UTC day and device,
    with the columns of ``content_daily`` (a SELECT, not executed).

    Clicks count on the day of their page view, so that a day's numbers are
    deleted and rolled up together.
    """
    per_view = (
        select(
            Click.pageview_id,
            func.count().label("clicks"),
            func.sum(case((Click.dead.is_(True), 1), else_=0)).label("dead"),
            func.sum(case((Click.error.is_(True), 1), else_=0)).label("error"),
        )
        .group_by(Click.pageview_id)
        .subquery("per_view")
    )
    day = func.date(PageView.viewed_at)
    stmt = (
        select(
            PageView.content_id,
            day.label("day"),
            PageView.device,
            literal(site_id).label("site_id"),
            func.count().label("views"),
            func.count(func.distinct(PageView.visitor_id)).label("visitors"),
            func.sum(PageView.active_ms).label("active_ms"),
            *(
                func.sum(cast(PageView.max_scroll_pct >= pct, Integer)).label(
                    f"reached_{pct}"
                )
                for pct in REACH_STEPS
            ),
            func.coalesce(func.sum(per_view.c.clicks), 0).label("clicks"),
            func.coalesce(func.sum(per_view.c.dead), 0).label("dead_clicks"),
            func.coalesce(func.sum(per_view.c.error), 0).label("error_clicks"),
        )
        .outerjoin(per_view, per_view.c.pageview_id == PageView.id)
        .where(PageView.site_id == site_id)
        .group_by(PageView.content_id, day, PageView.device)
    )
    if since is not None:
        stmt = stmt.where(PageView.viewed_at >= since)
    if until is not None:
        stmt = stmt.where(PageView.viewed_at < until)
    return stmt


def refresh(session: Session, until: date) -> int:
    """Roll up every day before ``until`` that still has its raw events, for
    every site; the number of day rows written. Does not commit."""
    written = 0
    for site_id in session.scalars(select(Site.id).order_by(Site.id)):
        written += refresh_site(session, site_id, until)
    return written


def refresh_site(session: Session, site_id: int, until: date) -> int:
    """Replace a site's day rows from its first raw day up to ``until``."""
    state = session.get(RollupState, site_id)
    start = state.purged_before if state and state.purged_before else None
    if start is None:
        first = session.scalar(
            select(func.min(PageView.viewed_at)).where(PageView.site_id == site_id)
        )
        start = first.date() if first else until
    # Rows only ever exist before ``rolled_until``: drop every refreshable one.
    session.execute(
        delete(ContentDaily).where(
            ContentDaily.site_id == site_id, ContentDaily.day >= start
        )
    )
    written = 0
    if start < until:
        columns = ["content_id", "day", "device", "site_id", *FIGURES]
        source = daily_figures(site_id, midnight(start), midnight(until))
        result = session.execute(
            ContentDaily.__table__.insert().from_select(columns, source)
        )
        written = result.rowcount
    if state is None:
        session.add(RollupState(site_id=site_id, rolled_until=until))
    else:
        state.rolled_until = until
    session.flush()
    return written


@dataclass(frozen=True)
class ContentTotals:
    """Long-term figures of one content item: rolled-up days plus raw recent ones.

    ``visitor_days`` sums each day's distinct visitors (a reader on two days
    counts twice): distinct visitors over years need raw rows that are gone.
    """

    content_id: int
    views: int
    visitor_days: int
    active_ms: int
    reached_25: int
    reached_50: int
    reached_75: int
    reached_100: int
    clicks: int
    dead_clicks: int
    error_clicks: int


def content_totals(
    session: Session,
    site_id: int,
    since: date | None = None,
    until: date | None = None,
    device: str | None = None,
) -> list[ContentTotals]:
    """Per content item, the figures of days in ``[since, until)`` (all when
    None), most viewed first, exact whether or not raw events were purged.

    The dashboard's long-range views would call this (and keep its raw queries
    for medians, heatmaps and recent ranges); ``device`` filters like theirs.
    """
    rolled_until = session.scalar(
        select(RollupState.rolled_until).where(RollupState.site_id == site_id)
    )
    rolled = select(
        ContentDaily.content_id,
        ContentDaily.device,
        *(getattr(ContentDaily, name).label(name) for name in FIGURES),
    ).where(ContentDaily.site_id == site_id)
    if rolled_until is not None:
        rolled = rolled.where(ContentDaily.day < rolled_until)
    if since is not None:
        rolled = rolled.where(ContentDaily.day >= since)
    if until is not None:
        rolled = rolled.where(ContentDaily.day < until)
    starts = [day for day in (since, rolled_until) if day is not None]
    raw_since = max(starts) if starts else None
    raw = daily_figures(
        site_id,
        midnight(raw_since) if raw_since else None,
        midnight(until) if until else None,
    ).subquery("raw")
    parts = union_all(
        rolled,
        select(raw.c.content_id, raw.c.device, *(raw.c[name] for name in FIGURES)),
    ).subquery("parts")
    stmt = select(
        parts.c.content_id, *(func.sum(parts.c[name]).label(name) for name in FIGURES)
    ).group_by(parts.c.content_id)
    if device is not None:
        stmt = stmt.where(parts.c.device == device)
    stmt = stmt.order_by(func.sum(parts.c.views).desc(), parts.c.content_id)
    return [
        ContentTotals(row[0], *(int(value) for value in row[1:]))
        for row in session.execute(stmt)
    ]
