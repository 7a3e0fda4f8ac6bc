"""Attention by section: active time and reach per heading of a content item,
against the time its words need."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.reading import reading_seconds
from dashboard.queries.segments import ContentFilter, filtered_views
from resonance.core.models import ContentSection, PageSection


@dataclass(frozen=True)
class SectionRow:
    """Attention on one section (a heading of the page), in page order."""

    heading: str
    level: int
    top_px: int
    height_px: int
    views: int
    total_active_s: float
    avg_active_s: float
    reached_pct: float
    expected_s: float | None
    held_longer: bool
    readers_stop: bool


def attention_sections(
    session: Session, flt: ContentFilter, content_id: int
) -> list[SectionRow]:
    """Active time and reach per section, grouped by heading text and level over
    the selected page views, in page order (average top, then average index);
    expected reading time from the crawled words (:func:`reading_seconds`).

    ``reached_pct``: share of the views having the section whose deepest scroll
    point went past its top. ``held_longer``: read longer per view than its words
    need. ``readers_stop``: the section after which reach drops the most.
    """
    views = filtered_views(session, flt, content_id)
    s = PageSection
    per = (
        select(
            s.heading,
            s.level,
            func.count(func.distinct(s.pageview_id)).label("views"),
            func.sum(s.active_ms).label("active_ms"),
            func.avg(s.top_px).label("top"),
            # Sections side by side (cards) share a top: then DOM order decides.
            func.avg(s.idx).label("pos"),
            func.avg(s.height_px).label("height"),
            func.count(
                func.distinct(case((s.top_px < views.c.max_scroll_px, s.pageview_id)))
            ).label("reached"),
        )
        .join(views, views.c.id == s.pageview_id)
        .where(s.heading.is_not(None), s.level.is_not(None))
        .group_by(s.heading, s.level)
        .subquery("per")
    )
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
    share = cast(per.c.reached, Float) * 100 / per.c.views
    rows = session.execute(
        select(
            per.c.heading,
            per.c.level,
            per.c.top,
            per.c.height,
            per.c.views,
            per.c.active_ms,
            share,
            share - func.lead(share).over(order_by=(per.c.top, per.c.pos)),
            words.c.words,
        )
        .outerjoin(
            words,
            and_(words.c.heading == per.c.heading, words.c.level == per.c.level),
        )
        .order_by(per.c.top, per.c.pos)
    ).all()
    drops = [row[7] if row[7] is not None else 0 for row in rows]
    # The first of equal drops: where most readers stop first.
    stop = drops.index(max(drops)) if drops and max(drops) > 0 else None
    result = []
    for index, row in enumerate(rows):
        heading, level, top, height, n, active_ms, reached, _, words_n = row
        avg_s = round(float(active_ms) / 1000 / n, 1)
        expected = reading_seconds(words_n) if words_n is not None else None
        result.append(
            SectionRow(
                heading=heading,
                level=level,
                top_px=round(float(top or 0)),
                height_px=round(float(height or 0)),
                views=n,
                total_active_s=round(float(active_ms) / 1000, 1),
                avg_active_s=avg_s,
                reached_pct=round(float(reached), 1),
                expected_s=expected,
                held_longer=expected is not None and avg_s > expected,
                readers_stop=index == stop,
            )
        )
    return result
