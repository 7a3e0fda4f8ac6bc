"""Periods as people name them: "the last 30 days", "1 Nov – 30 Nov 2026".

Pure (no Flask, no database): the days a preset covers, the period before a
period, and the sentence that states a period on a page. Presets are rolling
(``period=30d`` stays "the last 30 days" in a bookmark) and count days in the
site's time zone, ending today. :mod:`dashboard.args` reads them from the query
string; the views and templates state them with :func:`period_label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from resonance.core.clock import in_zone

# ``period=`` values → days they cover (None: every day).
PRESETS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}
PRESET_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "all": "All time",
}
# "Last 30 days vs the 30 before" when no period is chosen.
DEFAULT_COMPARE_DAYS = 30


@dataclass(frozen=True)
class Period:
    """The days a page counts, inclusive, in the site's zone (None: open)."""

    since: date | None
    until: date | None
    zone: str

    @property
    def days(self) -> int | None:
        """How many days the period covers (None when open on a side)."""
        if self.since and self.until:
            return (self.until - self.since).days + 1
        return None


def today_in(zone: str | None, now: datetime) -> date:
    """The site's date at the naive UTC moment ``now``."""
    return in_zone(now, zone).date()


def preset_days(preset: str, today: date) -> tuple[date | None, date | None]:
    """First and last day of a preset ending ``today`` (``all``: both open)."""
    days = PRESETS[preset]
    if days is None:
        return None, None
    return today - timedelta(days=days - 1), today


def bounded(period: Period, today: date) -> Period:
    """``period`` with both ends: an open end is today, an open start is
    :data:`DEFAULT_COMPARE_DAYS` days before the end (what "vs the period
    before" compares when no period was chosen)."""
    until = period.until or today
    since = period.since or until - timedelta(days=DEFAULT_COMPARE_DAYS - 1)
    return Period(since, until, period.zone)


def previous(period: Period) -> Period:
    """The period of equal length just before a bounded ``period``."""
    assert period.since and period.until and period.days
    until = period.since - timedelta(days=1)
    return Period(until - timedelta(days=period.days - 1), until, period.zone)


def day_text(day: date, year: bool = True) -> str:
    """``3 Nov 2026`` (without the year: ``3 Nov``)."""
    text = f"{day.day} {day.strftime('%b')}"
    return f"{text} {day.year}" if year else text


def period_label(period: Period, first_day: date | None = None) -> str:
    """The sentence stating ``period``: ``1 Nov – 30 Nov 2026 (30 days,
    Europe/Berlin)``, or ``All time (since the first page view, 3 Oct 2026)``
    (``first_day``: the day of the site's first page view, if known)."""
    since, until, zone = period.since, period.until, period.zone
    if since and until:
        days = period.days
        unit = "day" if days == 1 else "days"
        if since == until:
            span = day_text(since)
        else:
            span = f"{day_text(since, since.year != until.year)} – {day_text(until)}"
        return f"{span} ({days} {unit}, {zone})"
    if since:
        return f"Since {day_text(since)} ({zone})"
    if until:
        return f"Until {day_text(until)} ({zone})"
    if first_day:
        return f"All time (since the first page view, {day_text(first_day)})"
    return "All time (no page views yet)"


def period_json(period: Period, first_day: date | None = None) -> dict:
    """The twin's ``period``: ISO days (None when open) and the label."""
    return {
        "since": period.since.isoformat() if period.since else None,
        "until": period.until.isoformat() if period.until else None,
        "label": period_label(period, first_day),
    }


def change_text(now: int, before: int | None) -> str:
    """``+12 %``, ``−40 %``, ``±0 %`` or ``new`` (nothing before)."""
    if before is None:
        return ""
    if not before:
        return "new" if now else "±0 %"
    pct = round(100 * (now - before) / before)
    if pct == 0:
        return "±0 %"
    return f"+{pct} %" if pct > 0 else f"−{-pct} %"
