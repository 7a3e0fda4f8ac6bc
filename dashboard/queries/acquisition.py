"""Where the page views came from: the utm sources, campaigns and referrer
hosts present in a period, for the filter selects (most views first).

Referrers are stored as URLs (origin and path); the filter and the select
speak of hosts, cut from the URL in SQL (``tracker.contributions.referrer_host``).
The counts come from the summaries (``source_totals``), so the selects cost the
same whatever the history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import BigInteger, cast, func, literal, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import DIRECT, ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from tracker.contributions import SOURCES

# How many values each select offers.
TOP = 50


@dataclass(frozen=True)
class Option:
    """One value of a filter select and the page views it has in the period."""

    value: str
    views: int


@dataclass(frozen=True)
class AcquisitionOptions:
    """The values the source, campaign and referrer selects offer."""

    sources: list[Option]
    campaigns: list[Option]
    referrers: list[Option]


def acquisition_options(
    session: Session, flt: ContentFilter, raw: bool = False
) -> AcquisitionOptions:
    """The top :data:`TOP` sources, campaigns and referrer hosts (``direct`` for
    no referrer) of the page views ``flt`` selects, its own acquisition filters
    left out (the selects offer the other values too): from the summaries
    (``raw``: from the page views, to check them)."""
    base = replace(flt, source=None, campaign=None, referrer=None)
    summed = summary_and_raw(session, SOURCES, base, None, raw)
    return AcquisitionOptions(
        sources=_top(session, summed, "source"),
        campaigns=_top(session, summed, "campaign"),
        referrers=_top(session, summed, "referrer"),
    )


def _top(session: Session, summed, kind: str) -> list[Option]:
    """The values of one ``kind`` with the most page views, most first (the
    referrer host '' is ``direct``)."""
    value = func.coalesce(func.nullif(summed.c.value, ""), literal(DIRECT))
    views = cast(func.sum(summed.c.views), BigInteger)
    rows = session.execute(
        select(value.label("value"), views.label("views"))
        .where(summed.c.kind == kind)
        .group_by(value)
        .order_by(views.desc(), value)
        .limit(TOP)
    )
    return [Option(row.value, row.views) for row in rows]
