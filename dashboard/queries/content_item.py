"""One content item: what it is, its newest snapshot at a width, the totals of
the selected page views of it, and the notes sales left about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import Content, Lead, Note, Site, Snapshot
from tracker.contributions import VIEW_FIGURES, VIEWS, combined
from tracker.grid_contributions import NEWEST_FIRST


@dataclass(frozen=True)
class ContentInfo:
    """The content item a page is about."""

    content_id: int
    url: str
    title: str
    words: int | None
    crawled_at: datetime | None
    # ``content`` or ``conversion``, and whether a rule or a person said so.
    kind: str
    kind_source: str


def content_info(
    session: Session, site_key: str, content_id: int
) -> ContentInfo | None:
    """The content item, or None when it does not exist or is another site's."""
    row = session.execute(
        select(
            Content.id,
            Content.url,
            Content.title,
            Content.words,
            Content.crawled_at,
            Content.kind,
            Content.kind_source,
        )
        .join(Site, Site.id == Content.site_id)
        .where(Content.id == content_id, Site.key == site_key)
    ).first()
    return ContentInfo(*row) if row else None


@dataclass(frozen=True)
class SnapshotInfo:
    """A full-page screenshot the heatmap is drawn over."""

    snapshot_id: int
    width_px: int
    height_px: int
    taken_at: datetime
    image: str


def latest_snapshot(
    session: Session, content_id: int, width_px: int
) -> SnapshotInfo | None:
    """The newest snapshot of a content item at one width, if any."""
    row = session.execute(
        select(
            Snapshot.id,
            Snapshot.width_px,
            Snapshot.height_px,
            Snapshot.taken_at,
            Snapshot.image,
        )
        .where(Snapshot.content_id == content_id, Snapshot.width_px == width_px)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).first()
    return SnapshotInfo(*row) if row else None


def snapshot_image(session: Session, site_key: str, snapshot_id: int) -> str | None:
    """The PNG file name of a snapshot of the site's content, else None."""
    return session.scalar(
        select(Snapshot.image)
        .join(Content, Content.id == Snapshot.content_id)
        .join(Site, Site.id == Content.site_id)
        .where(Snapshot.id == snapshot_id, Site.key == site_key)
    )


@dataclass(frozen=True)
class ViewStats:
    """Totals of the selected page views of one content item."""

    views: int
    visitors: int
    avg_active_s: float
    avg_fold_px: int
    min_doc_h: int
    max_doc_h: int
    max_scroll_px: int


def view_stats(
    session: Session, flt: ContentFilter, content_id: int, raw: bool = False
) -> ViewStats:
    """How many page views the figures count, their average fold and page heights
    (which decide how scroll reach is read): from the page-view totals (``raw``:
    from the page views, to check them); distinct visitors from the page views."""
    summed = summary_and_raw(session, VIEWS, flt, content_id, raw)
    row = session.execute(
        select(*(combined(f, summed.c[f]) for f in VIEW_FIGURES))
    ).one()
    totals = dict(zip(VIEW_FIGURES, (int(value or 0) for value in row), strict=True))
    views = filtered_views(session, flt, content_id)
    visitors = session.scalar(select(func.count(func.distinct(views.c.visitor_id))))
    count = totals["views"]
    return ViewStats(
        views=count,
        visitors=visitors or 0,
        avg_active_s=round(totals["active_ms"] / count / 1000, 1) if count else 0.0,
        avg_fold_px=round(totals["viewport_h"] / count) if count else 0,
        min_doc_h=totals["doc_h_min"],
        max_doc_h=totals["doc_h_max"],
        max_scroll_px=totals["scroll_px_max"],
    )


@dataclass(frozen=True)
class NoteRow:
    """A note from sales about a content item (read-only here)."""

    created_at: datetime
    author: str
    section: str | None
    body: str
    lead: str | None


def content_notes(
    session: Session, site_key: str, content_id: int, limit: int = 50
) -> list[NoteRow]:
    """The newest notes on a content item, with the lead they are about."""
    rows = session.execute(
        select(
            Note.created_at,
            Note.author,
            Note.section,
            Note.body,
            func.coalesce(Lead.name, Lead.email),
        )
        .join(Site, Site.id == Note.site_id)
        .outerjoin(Lead, Lead.id == Note.lead_id)
        .where(Note.content_id == content_id, Site.key == site_key)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
    )
    return [NoteRow(*row) for row in rows]
