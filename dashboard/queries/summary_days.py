"""Reading a figure from summaries and raw events together: the whole UTC days
of a period from the summary rows, the partial days at its ends from the raw
page views. The result is exact for any period in any time zone, and the raw
part never holds more than two days, so the cost does not grow with history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from dashboard.queries.segments import ContentFilter, summarised
from tracker.rollups import midnight


@dataclass(frozen=True)
class Split:
    """Which part of a filter's period summaries answer (``first`` to ``end``,
    UTC days, either open when None; ``whole`` False when they answer none), and
    the filters of the page views read raw."""

    whole: bool
    first: date | None
    end: date | None
    raw: tuple[ContentFilter, ...]


def split(flt: ContentFilter) -> Split:
    """Whole UTC days of ``flt``'s period for the summaries, the rest raw."""
    if not summarised(flt):
        return Split(False, None, None, (flt,))
    first = _first_whole_day(flt.since) if flt.since else None
    end = flt.until.date() if flt.until else None
    if first and end and first >= end:
        return Split(False, None, None, (flt,))
    raw = []
    if flt.since and flt.since < midnight(first):
        raw.append(replace(flt, until=midnight(first)))
    if flt.until and midnight(end) < flt.until:
        raw.append(replace(flt, since=midnight(end)))
    return Split(True, first, end, tuple(raw))


def _first_whole_day(since: datetime) -> date:
    day = since.date()
    return day if since == midnight(day) else day + timedelta(days=1)
