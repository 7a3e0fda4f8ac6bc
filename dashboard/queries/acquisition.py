"""Where the page views came from: the utm sources, campaigns and referrer
hosts present in a period, for the filter selects (most views first).

Referrers are stored as URLs (origin and path); the filter and the select
speak of hosts, cut from the URL in SQL: ``https://news.example.com:8443/x``
→ ``news.example.com``. PostgreSQL has regular expressions for it; SQLite takes
the text between ``://`` and the first ``/``, ``:``, ``?`` or ``#``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import DIRECT, ContentFilter, filtered_views
from resonance.core import dialect
from resonance.core.models import PageView

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


def referrer_host(session: Session, column):
    """SQL for the lower-case host of a referrer URL (NULL for none)."""
    url = func.lower(column)
    if dialect.name(session) == "postgresql":
        return func.substring(url, r"^[a-z][a-z0-9+.-]*://([^/:?#]+)")
    rest = func.substr(url, func.instr(url, "://") + 3) + "/"
    ends = [func.instr(rest, "/")] + [
        func.coalesce(func.nullif(func.instr(rest, c), 0), 100_000) for c in ":?#"
    ]
    return func.nullif(func.substr(rest, 1, func.min(*ends) - 1), "")


def acquisition_options(session: Session, flt: ContentFilter) -> AcquisitionOptions:
    """The top :data:`TOP` sources, campaigns and referrer hosts (``direct`` for
    no referrer) of the page views ``flt`` selects, its own acquisition filters
    left out (the selects offer the other values too)."""
    base = replace(flt, source=None, campaign=None, referrer=None)
    views = filtered_views(session, base)
    tags = (
        select(PageView.utm_source, PageView.utm_campaign, PageView.referrer)
        .join(views, views.c.id == PageView.id)
        .subquery("tags")
    )
    host = func.coalesce(referrer_host(session, tags.c.referrer), literal(DIRECT))
    return AcquisitionOptions(
        sources=_top(session, tags.c.utm_source),
        campaigns=_top(session, tags.c.utm_campaign),
        referrers=_top(session, host),
    )


def _top(session: Session, column) -> list[Option]:
    """The most frequent non-empty values of ``column``, most views first."""
    value = column.label("value")
    rows = session.execute(
        select(value, func.count().label("views"))
        .where(column.is_not(None), column != "")
        .group_by(value)
        .order_by(func.count().desc(), value)
        .limit(TOP)
    )
    return [Option(row.value, row.views) for row in rows]
