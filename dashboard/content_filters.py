"""The content pages' filter from the query string, and what the pages say
about it: the period stated in words, the period before it, the acquisition
selects' values and the daily trend's days.

Kept apart from :mod:`dashboard.views` so the views stay a request → queries →
template pipe; the parsing of single fields is :mod:`dashboard.args`'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask import abort, request

from dashboard.args import (
    acquisition_args,
    compare_previous,
    current_period,
    day_range,
    midnight,
    today,
)
from dashboard.periods import Period, bounded, period_json, previous
from dashboard.queries.segments import ContentFilter, valid_segment
from dashboard.queries.sites import first_view_at, site_timezone
from resonance.core.clock import in_zone
from resonance.core.db import get_session
from resonance.core.models import DEVICES


def site_zone(site_key: str) -> str:
    """The site's time zone (UTC when it has none)."""
    return site_timezone(get_session(), site_key) or "UTC"


def content_filter(site_key: str) -> ContentFilter:
    """The filter from the query string: ``since``/``until`` (YYYY-MM-DD, days
    in the site's time zone) or ``period``, ``device``, ``q``, ``segment`` (all,
    leads, sales, stage:<name>), ``internal=exclude``, and ``source``,
    ``campaign``, ``referrer``. Bad values are a 400, never a 500; a bad date,
    period or acquisition value is shown beside its field (:mod:`dashboard.args`)."""
    device = request.args.get("device") or None
    if device and device not in DEVICES:
        abort(400, f"device must be one of {', '.join(DEVICES)}")
    internal = request.args.get("internal") or "include"
    if internal not in ("include", "exclude"):
        abort(400, "internal must be include or exclude")
    since, until = day_range(site_zone(site_key))
    return ContentFilter(
        site_key=site_key,
        since=since,
        until=until,
        device=device,
        search=(request.args.get("q") or "").strip()[:200] or None,
        segment=segment_arg(request.args.get("segment") or "all"),
        exclude_internal=internal == "exclude",
        **acquisition_args(),
    )


def segment_arg(value: str) -> str:
    """A segment argument, checked (a 400 otherwise)."""
    if not valid_segment(value):
        abort(400, "segment must be all, leads, sales or stage:<name>")
    return value


def filtered(flt: ContentFilter) -> bool:
    """Whether the filter narrows the page views (an empty page then says so)."""
    return (
        bool(flt.since or flt.until or flt.device or flt.exclude_internal)
        or bool(flt.source or flt.campaign or flt.referrer)
        or flt.segment != "all"
    )


def first_day(site_key: str, zone: str) -> date | None:
    """The site's day of its first page view (what "All time" starts from)."""
    first = first_view_at(get_session(), site_key)
    return in_zone(first, zone).date() if first else None


def stated_period(site_key: str, period: Period | None = None) -> dict:
    """The twin's ``period`` (and the page's sentence) for this request."""
    period = period or current_period()
    start = None if period.since else first_day(site_key, period.zone)
    return period_json(period, start)


def with_period(flt: ContentFilter, period: Period) -> ContentFilter:
    """``flt`` over the days of ``period`` instead of its own."""
    return replace(
        flt,
        since=midnight(period.since, period.zone) if period.since else None,
        until=(
            midnight(period.until + timedelta(days=1), period.zone)
            if period.until
            else None
        ),
    )


@dataclass(frozen=True)
class Comparison:
    """``vs=previous``: the period shown (bounded) and the one before it."""

    current: Period
    before: Period
    flt: ContentFilter
    before_flt: ContentFilter

    def twin(self, site_key: str) -> dict:
        return {
            "period": stated_period(site_key, self.current),
            "previous_period": stated_period(site_key, self.before),
        }


def comparison(flt: ContentFilter) -> Comparison | None:
    """The comparison ``vs=previous`` asks for, or None. Without a period it
    compares the last 30 days with the 30 before."""
    if not compare_previous():
        return None
    period = current_period()
    current = bounded(period, today(period.zone))
    before = previous(current)
    return Comparison(
        current, before, with_period(flt, current), with_period(flt, before)
    )


def trend_days(site_key: str, period: Period) -> tuple[date, date] | None:
    """First and last day the trend draws: the period's, an open start being
    the first page view's day and an open end today (None: no page views)."""
    last = period.until or today(period.zone)
    first = period.since or first_day(site_key, period.zone)
    if first is None or first > last:
        return None
    return first, last
