"""The daily trend of one content item: page views, visitors and active time
per day of the period, days counted in the site's time zone.

A day in a zone with summer time is 23 or 25 hours long, so a fixed offset
from UTC misplaces views. The database turns each view's time into the site's
date (PostgreSQL with its zone data; SQLite with the offset in force, the few
changes of offset in the period given to it). The page views are read once;
from them, distinct visitors per day, and how many had each whole second of
active time per day, what the day's count, average and median
(``dashboard.queries.sql.spread_median``, the median every other page shows)
come from. Days without page views are filled with zeros.
A day table joined to the views was tried first: 0.8 s for a year of days;
ranking every page view of the period (for an exact median in ms) cost more
than the counting (bench/RESULTS.md, seventh session).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, case, cast, func, literal, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.sql import spread_median
from resonance.core import dialect
from resonance.core.clock import zone as zone_named
from tracker.contributions import whole_seconds

# At most this many days are drawn (the last ones of a longer period): a bar a
# day stays readable.
MAX_DAYS = 366


@dataclass(frozen=True)
class TrendDay:
    """One day of the trend (zeros when nobody viewed the page that day)."""

    day: str  # ISO date (2026-11-03): the site's day, never a moment
    views: int
    visitors: int
    median_active_s: float
    avg_active_s: float


def midnight(day: date, zone: str | None) -> datetime:
    """Midnight starting ``day`` in ``zone``, as naive UTC."""
    local = datetime(day.year, day.month, day.day, tzinfo=zone_named(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def offset_changes(start: datetime, end: datetime, zone: str | None) -> list:
    """The zone's UTC offset at naive UTC ``start`` and each change of it
    before ``end``: ``[(None, seconds), (moment, seconds), …]``. Found a day at a
    time, then to the second by halving (zones change offset on whole seconds)."""
    tz = zone_named(zone)

    def offset(moment: datetime) -> int:
        return int(
            moment.replace(tzinfo=UTC).astimezone(tz).utcoffset().total_seconds()
        )

    changes = [(None, offset(start))]
    step = timedelta(days=1)
    moment = start
    while moment < end:
        after = min(moment + step, end)
        if offset(after) != changes[-1][1]:
            low, high = moment.replace(microsecond=0), after
            while high - low > timedelta(seconds=1):
                half = (high - low).total_seconds() // 2
                middle = low + timedelta(seconds=half)
                low, high = (
                    (middle, high)
                    if offset(middle) == changes[-1][1]
                    else (low, middle)
                )
            changes.append((high, offset(high)))
        moment = after
    return changes


def local_day(
    session: Session, column, zone: str | None, first: datetime, end: datetime
):
    """SQL for the site's date of a naive UTC ``column`` (between ``first`` and
    ``end``). PostgreSQL knows the zones; SQLite adds the offset in force, a
    CASE over the few changes of offset (summer time) in the period."""
    if dialect.name(session) == "postgresql":
        local = func.timezone(zone or "UTC", func.timezone("UTC", column))
        return func.to_char(local, "YYYY-MM-DD")
    changes = offset_changes(first, end, zone)
    shift = (
        case(
            *(
                (column >= moment, f"{seconds:+d} seconds")
                for moment, seconds in reversed(changes[1:])
            ),
            else_=f"{changes[0][1]:+d} seconds",
        )
        if len(changes) > 1
        else f"{changes[0][1]:+d} seconds"
    )
    return func.date(column, shift)


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
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    start, end = midnight(first, zone), midnight(last + timedelta(days=1), zone)
    if flt.since is None or flt.since < start:
        flt = replace(flt, since=start)
    rows = session.execute(_per_day(session, flt, content_id, zone, start, end))
    found = {str(row[0]): row for row in rows}
    trend = []
    for i in range((last - first).days + 1):
        day_text = (first + timedelta(days=i)).isoformat()
        row = found.get(day_text)
        trend.append(
            TrendDay(
                day=day_text,
                views=row[1] if row else 0,
                visitors=row[2] if row else 0,
                median_active_s=round(float(row[4]), 1) if row else 0.0,
                avg_active_s=round(row[3] / row[1] / 1000, 1) if row else 0.0,
            )
        )
    return trend


def _per_day(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    zone: str | None,
    start: datetime,
    end: datetime,
):
    """Per day of ``zone``: page views, distinct visitors, active ms in all,
    and the median whole seconds of active time."""
    views = filtered_views(session, flt, content_id)
    # The page views' days, read once: both aggregates below read them (a
    # segment's condition is then checked once a page view, too).
    viewed = select(
        local_day(session, views.c.viewed_at, zone, start, end).label("day"),
        views.c.visitor_id,
        views.c.active_ms,
    ).cte("viewed")
    seconds = whole_seconds(viewed)
    spread = (
        select(
            viewed.c.day,
            literal("active_s").label("measure"),
            seconds.label("value"),
            func.count().label("views"),
            func.sum(viewed.c.active_ms).label("active_ms"),
        )
        .group_by(viewed.c.day, seconds)
        .cte("spread")
    )
    totals = (
        select(
            spread.c.day,
            cast(func.sum(spread.c.views), BigInteger).label("views"),
            cast(func.sum(spread.c.active_ms), BigInteger).label("active_ms"),
        )
        .group_by(spread.c.day)
        .subquery()
    )
    median = spread_median(spread, "active_s", spread.c.day)
    visitors = (
        select(
            viewed.c.day,
            func.count(func.distinct(viewed.c.visitor_id)).label("visitors"),
        )
        .group_by(viewed.c.day)
        .subquery()
    )
    return (
        select(
            totals.c.day,
            totals.c.views,
            visitors.c.visitors,
            totals.c.active_ms,
            median.c.median,
        )
        .join(visitors, visitors.c.day == totals.c.day)
        .join(median, median.c.item == totals.c.day)
    )
