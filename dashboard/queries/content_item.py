"""One content item: what it is, its newest snapshot at a width, the totals of
the selected page views of it, and the notes sales left about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter, filtered_views
from resonance.core.models import Content, Lead, Note, Site, Snapshot

# The width each device class is snapshotted (and its heatmap drawn) at.
SNAPSHOT_WIDTHS = {"mobile": 375, "tablet": 768, "desktop": 1440}


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
        .order_by(Snapshot.taken_at.desc(), Snapshot.id.desc())
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


def view_stats(session: Session, flt: ContentFilter, content_id: int) -> ViewStats:
    """How many page views the figures count, their average fold and page heights
    (which decide how scroll reach is read)."""
    views = filtered_views(session, flt, content_id)
    row = session.execute(
        select(
            func.count(),
            func.count(func.distinct(views.c.visitor_id)),
            func.coalesce(func.avg(views.c.active_ms), 0),
            func.coalesce(func.avg(views.c.viewport_h), 0),
            func.coalesce(func.min(views.c.doc_h), 0),
            func.coalesce(func.max(views.c.doc_h), 0),
            func.coalesce(func.max(views.c.max_scroll_px), 0),
        )
    ).one()
    return ViewStats(
        views=row[0],
        visitors=row[1],
        avg_active_s=round(float(row[2]) / 1000, 1),
        avg_fold_px=round(float(row[3])),
        min_doc_h=row[4],
        max_doc_h=row[5],
        max_scroll_px=row[6],
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
