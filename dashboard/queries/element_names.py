"""Human names for clicked elements: what a marketer would call them, not the
CSS selector the snippet recorded (``#main > section:nth-of-type(6) > a``).

A name comes from, in order: the label measured on the snapshot (visible text,
aria-label, alt, title or a data-* label, see ``tracker.snapshots``); the text
the clicks carried most often (the snippet sends up to 60 characters); else the
element's kind and the section it sits in ("button in section 'Pricing'"), from
the heading above the click in the visitor's own layout; else its kind alone.
Each step is one grouped query over the few selectors asked about; the texts
are read from their summary (``tracker.contributions.TEXTS``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import Click, PageSection, SnapshotElement
from tracker.contributions import ELEMENTS, TEXTS

# Words for the tags people click, for the fallback name.
TAG_WORDS = {
    "a": "link",
    "button": "button",
    "input": "field",
    "textarea": "text box",
    "select": "menu",
    "img": "image",
    "svg": "icon",
    "label": "label",
    "summary": "toggle",
}
HEADING_CHARS = 60


@dataclass(frozen=True)
class ElementName:
    """How one selector is named, and where the name came from (label, text,
    section or tag): the table says so in its tooltip."""

    name: str
    source: str


def tag_word(tag: str) -> str:
    """``a`` → link, ``button`` → button; other tags as they are."""
    tag = (tag or "").lower()
    return TAG_WORDS.get(tag, tag or "element")


def element_names(
    session: Session,
    content_id: int,
    selectors: Collection[str],
    tags: dict[str, str],
    texts: dict[str, str],
    flt: ContentFilter | None = None,
    snapshot_id: int | None = None,
    *,
    raw: bool = False,
) -> dict[str, ElementName]:
    """A name for each of ``selectors`` (clicked on ``content_id``), see the
    module. ``tags`` gives each selector's tag for the fallback, ``texts``
    their :func:`common_texts`; with ``flt`` the heading above each unnamed
    element in the page views it selects is looked up (the top elements
    table, not every square of the heatmap; ``raw``: from the clicks)."""
    wanted = set(selectors)
    names: dict[str, ElementName] = {}
    if not wanted:
        return names
    if snapshot_id is not None:
        rows = session.execute(
            select(SnapshotElement.selector, SnapshotElement.label).where(
                SnapshotElement.snapshot_id == snapshot_id,
                SnapshotElement.selector.in_(wanted),
                SnapshotElement.label != "",
            )
        )
        names |= {sel: ElementName(label, "label") for sel, label in rows}
    rest = wanted - names.keys()
    names |= {sel: ElementName(texts[sel], "text") for sel in rest & texts.keys()}
    rest = wanted - names.keys()
    if rest and flt is not None:
        for sel, heading in _sections(session, content_id, rest, flt, raw):
            where = heading.strip()[:HEADING_CHARS]
            word = tag_word(tags.get(sel, ""))
            names[sel] = ElementName(f"{word} in section '{where}'", "section")
    for sel in wanted - names.keys():
        names[sel] = ElementName(tag_word(tags.get(sel, "")), "tag")
    return names


def common_texts(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    selectors: Collection[str],
    raw: bool = False,
) -> dict[str, str]:
    """Each selector's most frequent non-empty click text in the page views
    ``flt`` selects (ties: A before B), from what clicked elements said
    (``tracker.contributions.TEXTS``; ``raw``: from the clicks alone)."""
    if not selectors:
        return {}
    said = summary_and_raw(session, TEXTS, flt, content_id, raw)
    clicks = func.sum(said.c.clicks)
    counted = (
        select(
            said.c.selector,
            said.c.text,
            func.row_number()
            .over(partition_by=said.c.selector, order_by=(clicks.desc(), said.c.text))
            .label("rank"),
        )
        .where(said.c.selector.in_(selectors))
        .group_by(said.c.selector, said.c.text)
        .subquery("texts")
    )
    return {
        sel: text.strip()
        for sel, text in session.execute(
            select(counted.c.selector, counted.c.text).where(counted.c.rank == 1)
        )
    }


def _sections(
    session: Session,
    content_id: int,
    selectors: Collection[str],
    flt: ContentFilter,
    raw: bool,
) -> list[tuple[str, str]]:
    """The heading of the section each selector's first click fell in: the
    lowest section of that page view starting above the click. The first
    click (the least id of the page views ``flt`` selects) comes from clicks
    by element (``tracker.contributions.ELEMENTS``; ``raw``: from the clicks)."""
    summed = summary_and_raw(session, ELEMENTS, flt, content_id, raw)
    first = (
        select(summed.c.selector, func.min(summed.c.first_click_min).label("click_id"))
        .where(summed.c.selector.in_(selectors))
        .group_by(summed.c.selector)
        .subquery("first_click")
    )
    placed = (
        select(
            first.c.selector,
            PageSection.heading,
            func.row_number()
            .over(
                partition_by=first.c.selector,
                order_by=(PageSection.top_px.desc(), PageSection.idx.desc()),
            )
            .label("rank"),
        )
        .join(Click, Click.id == first.c.click_id)
        .join(PageSection, PageSection.pageview_id == Click.pageview_id)
        .where(
            PageSection.top_px <= Click.y,
            PageSection.heading.is_not(None),
            func.trim(PageSection.heading) != "",
        )
        .subquery("placed")
    )
    return list(
        session.execute(
            select(placed.c.selector, placed.c.heading).where(placed.c.rank == 1)
        )
    )
