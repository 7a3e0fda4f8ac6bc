"""Reading a figure from summaries and raw events together: the whole UTC days
of a period from the summary rows, the partial days at its ends and the days
with a change waiting for a refresh (today, mostly) from the raw page views. The
result is exact for any period in any time zone, and the raw part holds a few
days, so the cost does not grow with history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from dashboard.queries.segments import (
    ContentFilter,
    cohort_clause,
    filtered_views,
    of_item,
    summarised,
)
from resonance.core.models import Content, Site, SummaryChange
from tracker.contributions import Summary
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


def summary_and_raw(
    session: Session,
    summary: Summary,
    flt: ContentFilter,
    content_id: int | None,
    raw: bool = False,
    by: tuple[str, ...] = (),
):
    """The rows of ``summary`` for the whole days of ``flt`` that have no
    change waiting for a refresh, and the contributions of the raw page views
    of the rest (``raw``: of the whole period, never the summaries), as one
    subquery with the ``by`` key columns (``content_id``), the summary's
    ``about`` columns and its figures, to be combined
    (``tracker.contributions.combined``). ``content_id`` None: every content
    item of the site."""
    days = split(flt) if not raw else Split(False, None, None, (flt,))
    parts, raws = [], list(days.raw)
    if days.whole:
        t = summary.model
        site = select(Site.id).where(Site.key == flt.site_key).scalar_subquery()
        changed = _changed_days(session, site, content_id, days)
        where = (
            [*of_item(t.content_id, content_id, site)]
            if content_id is not None
            else [t.site_id == site]
        )
        where += [t.day >= days.first] if days.first else []
        where += [t.day < days.end] if days.end else []
        where += [t.day.not_in(changed)] if changed else []
        where += [t.device == flt.device] if flt.device else []
        if (cohort := cohort_clause(flt.segment, t)) is not None:
            where.append(cohort)
        names = (*by, *summary.about, *summary.figures)
        parts.append(select(*(getattr(t, c) for c in names)).where(*where))
        raws += [
            replace(flt, since=midnight(first), until=midnight(end))
            for first, end in _runs(changed)
        ]
    for part in raws:
        views = filtered_views(session, part, content_id)
        parts.append(summary.contributions(views, by))
    return union_all(*parts).subquery("summed")


def _changed_days(
    session: Session, site, content_id: int | None, days: Split
) -> list[date]:
    """The whole days of the period whose summaries wait for a refresh (of the
    content item, or of any of the site's); read once, so that the summary rows
    left out are exactly the days read raw."""
    c = SummaryChange
    if content_id is not None:
        where = [c.content_id == content_id]
    else:
        where = [c.content_id.in_(select(Content.id).where(Content.site_id == site))]
    where += [c.day >= days.first] if days.first else []
    where += [c.day < days.end] if days.end else []
    return sorted(session.scalars(select(c.day).where(*where).distinct()))


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as ``[first, end)`` ranges."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs
