"""Attention by section: active time and reach per heading of a content item,
against the time its words need."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Float, and_, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.reading import reading_seconds
from dashboard.queries.segments import ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import ContentSection
from tracker.contributions import FIGURES, SECTIONS


@dataclass(frozen=True)
class SectionRow:
    """Attention on one section (a heading of the page), in page order."""

    heading: str
    level: int
    top_px: int
    height_px: int
    # Page views that reached the section (scrolled past its top), and their
    # active time on it: a section nobody reached had no one to hold.
    views: int
    total_active_s: float
    avg_active_s: float
    # Of the page views whose layout had the section: the share that reached it,
    # and the share whose deepest point was inside it (they left here).
    reached_pct: float
    left_pct: float
    expected_s: float | None
    held_longer: bool
    # Where the most readers leave: the section (not the last: leaving there is
    # finishing) with the largest ``left_pct``; the first of equals.
    readers_stop: bool


def attention_sections(
    session: Session, flt: ContentFilter, content_id: int, *, raw: bool = False
) -> list[SectionRow]:
    """Active time and reach per section, grouped by heading text and level over
    the selected page views, in page order (average top, then average index);
    expected reading time from the crawled words (:func:`reading_seconds`).

    ``views``: the views that reached the section (their deepest visible point
    went past its top); active time is averaged over them. ``reached_pct`` and
    ``left_pct`` are shares of the views whose layout had the section.
    ``held_longer``: read longer per reaching view than its words need.
    ``readers_stop``: where the most readers leave (see :class:`SectionRow`).
    ``raw`` reads the raw events only, never the summaries (to check them).
    """
    per = _section_figures(session, flt, content_id, raw)
    words = (
        select(
            ContentSection.heading,
            ContentSection.level,
            func.sum(ContentSection.words).label("words"),
        )
        .where(ContentSection.content_id == content_id)
        .group_by(ContentSection.heading, ContentSection.level)
        .subquery("words")
    )
    rows = session.execute(
        select(
            per.c.heading,
            per.c.level,
            per.c.top,
            per.c.height,
            per.c.having,
            per.c.reached,
            per.c.left,
            per.c.active_ms,
            words.c.words,
        )
        .where(per.c.having > 0)
        .outerjoin(
            words,
            and_(words.c.heading == per.c.heading, words.c.level == per.c.level),
        )
        .order_by(per.c.top, per.c.pos)
    ).all()
    leaving = [row.left / row.having for row in rows[:-1]]
    top_leave = max(leaving, default=0)
    stop = leaving.index(top_leave) if top_leave > 0 else None
    return [_section_row(row, index == stop) for index, row in enumerate(rows)]


def _section_figures(
    session: Session, flt: ContentFilter, content_id: int, raw: bool = False
):
    """Per heading and level, the section figures of the selected page views:
    whole days from ``section_totals``, the rest from the raw sections (the
    same definition, ``tracker.contributions.section_contributions``)."""
    both = summary_and_raw(session, SECTIONS, flt, content_id, raw)
    # PostgreSQL sums bigints as numeric: back to integers.
    total = {f: cast(func.sum(both.c[f]), BigInteger) for f in FIGURES}
    return (
        select(
            both.c.heading,
            both.c.level,
            total["views"].label("having"),
            total["active_ms"].label("active_ms"),
            _ratio(total["top_sum"], total["top_n"]).label("top"),
            # Sections side by side (cards) share a top: then DOM order decides.
            _ratio(total["idx_sum"], total["rows"]).label("pos"),
            _ratio(total["height_sum"], total["height_n"]).label("height"),
            total["reached"].label("reached"),
            total["left_inside"].label("left"),
        )
        .group_by(both.c.heading, both.c.level)
        .subquery("per")
    )


def _ratio(part, whole):
    """``part / whole`` as a float (NULL when ``whole`` is 0): an average."""
    return cast(part, Float) / func.nullif(whole, 0)


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def _section_row(row, readers_stop: bool) -> SectionRow:
    """One aggregated section as shown: times over the views that reached it."""
    total_s = float(row.active_ms or 0) / 1000
    avg_s = round(total_s / row.reached, 1) if row.reached else 0.0
    expected = reading_seconds(row.words) if row.words is not None else None
    return SectionRow(
        heading=row.heading,
        level=row.level,
        top_px=round(float(row.top or 0)),
        height_px=round(float(row.height or 0)),
        views=row.reached,
        total_active_s=round(total_s, 1),
        avg_active_s=avg_s,
        reached_pct=_pct(row.reached, row.having),
        left_pct=_pct(row.left, row.having),
        expected_s=expected,
        held_longer=expected is not None and avg_s > expected,
        readers_stop=readers_stop,
    )
