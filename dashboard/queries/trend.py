"""The daily trend of one content item: page views, visitors and active time
per day of the period, days counted in the site's time zone.

A day in a zone with summer time is 23 or 25 hours long, so no arithmetic on
UTC timestamps finds it. The days are a small table of their UTC bounds (built
here from the zone, sent as literals) that the page views are joined to: the
database counts, takes distinct visitors and medians per day; days without
page views are filled with zeros afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, Integer, and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.sql import median
from resonance.core.clock import zone as zone_named

# At most this many days are drawn (the last ones of a longer period): SQLite
# allows 500 terms in a compound SELECT, and a bar a day stays readable.
MAX_DAYS = 366


@dataclass(frozen=True)
class TrendDay:
    """One day of the trend (zeros when nobody viewed the page that day)."""

    day: str  # ISO date (2026-11-03): the site's day, never a moment
    views: int
    visitors: int
    median_active_s: float
    avg_active_s: float


def day_bounds(
    first: date, last: date, zone: str | None
) -> list[tuple[date, datetime, datetime]]:
    """Each day from ``first`` to ``last`` with its start and end as naive UTC
    (midnight to midnight in ``zone``); the last :data:`MAX_DAYS` at most."""
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    tz = zone_named(zone)

    def midnight(day: date) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=tz)
        return local.astimezone(UTC).replace(tzinfo=None)

    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [(d, midnight(d), midnight(d + timedelta(days=1))) for d in days]


def daily_trend(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    first: date,
    last: date,
    zone: str | None,
) -> list[TrendDay]:
    """Page views of ``content_id`` that ``flt`` selects, per day from ``first``
    to ``last`` (inclusive, days in ``zone``)."""
    bounds = day_bounds(first, last, zone)
    if not bounds:
        return []
    days = union_all(
        *(
            select(
                literal(i, Integer).label("day"),
                literal(start, DateTime()).label("start"),
                literal(stop, DateTime()).label("stop"),
            )
            for i, (_, start, stop) in enumerate(bounds)
        )
    ).subquery("days")
    views = filtered_views(session, flt, content_id)
    per_day = (
        select(days.c.day, views.c.visitor_id, views.c.active_ms)
        .join(
            days,
            and_(views.c.viewed_at >= days.c.start, views.c.viewed_at < days.c.stop),
        )
        .subquery("per_day")
    )
    active = median(per_day, "active_ms", "day")
    rows = session.execute(
        select(
            per_day.c.day,
            func.count(),
            func.count(func.distinct(per_day.c.visitor_id)),
            func.avg(per_day.c.active_ms),
            func.max(active.c.median),
        )
        .join(active, active.c.item == per_day.c.day)
        .group_by(per_day.c.day)
    )
    found = {row[0]: row for row in rows}
    trend = []
    for i, (day, _, _) in enumerate(bounds):
        row = found.get(i)
        trend.append(
            TrendDay(
                day=day.isoformat(),
                views=row[1] if row else 0,
                visitors=row[2] if row else 0,
                median_active_s=round(float(row[4]) / 1000, 1) if row else 0.0,
                avg_active_s=round(float(row[3]) / 1000, 1) if row else 0.0,
            )
        )
    return trend
