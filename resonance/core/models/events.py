"""What the snippet reports, one row per event: page views, clicks, section
attention, attention per band of the page, identifies and bot hits; and the
inbox of beacons not yet stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import (
    CLICK_TEXT_LEN,
    EMAIL_LEN,
    EVENT_ID_LEN,
    HEADING_LEN,
    SELECTOR_LEN,
    TITLE_LEN,
    URL_LEN,
    UTM_LEN,
)


class PageView(Base):
    """One page view, with its cumulative scroll depth and active time."""

    __tablename__ = "pageviews"
    __table_args__ = (
        UniqueConstraint("site_id", "event_id"),
        # Serves per-content figures filtered by date; with visitor_id it covers
        # an item's distinct visitors (the content page), with device those of
        # one device class (set once, at insert: updates stay HOT on PostgreSQL).
        Index(None, "content_id", "viewed_at", "visitor_id", "device"),
        # Covers the content list's distinct visitors and leads per item.
        Index(None, "site_id", "content_id", "visitor_id", "viewed_at"),
        # Serves a visitor's (a prospect's) reading history; with content_id it
        # covers a lead's first view of each item (influence figures).
        Index(None, "visitor_id", "viewed_at", "content_id"),
        # Serves site-wide lists and the live view.
        Index(None, "site_id", "viewed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_LEN))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("visit_sessions.id", ondelete="CASCADE")
    )
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE")
    )
    viewed_at: Mapped[datetime]
    # What was viewed (sanitised: no fragment, only utm_* query keys, no e-mails)
    url: Mapped[str] = mapped_column(String(URL_LEN))
    title: Mapped[str] = mapped_column(String(TITLE_LEN), default="")
    referrer: Mapped[str | None] = mapped_column(String(URL_LEN))
    utm_source: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_medium: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_campaign: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_term: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_content: Mapped[str | None] = mapped_column(String(UTM_LEN))
    # Screen
    viewport_w: Mapped[int]
    viewport_h: Mapped[int]
    doc_h: Mapped[int]
    device: Mapped[str] = mapped_column(String(8))
    # Engagement, cumulative: the collector keeps the maximum it was sent.
    max_scroll_px: Mapped[int] = mapped_column(Integer, default=0)
    max_scroll_pct: Mapped[float] = mapped_column(Float, default=0.0)
    active_ms: Mapped[int] = mapped_column(Integer, default=0)


class Click(Base):
    """A click, placed by selector and position inside the element's box."""

    __tablename__ = "clicks"
    __table_args__ = (
        UniqueConstraint("site_id", "event_id"),
        # Serves click heatmaps and top elements of one content item, in the
        # page-view order their windows (rage clicks) and joins want.
        Index(None, "content_id", "pageview_id", "clicked_at"),
        Index(None, "pageview_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_LEN))
    pageview_id: Mapped[int] = mapped_column(
        ForeignKey("pageviews.id", ondelete="CASCADE")
    )
    # Denormalised from the page view so heatmaps need no join.
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE")
    )
    clicked_at: Mapped[datetime]
    x: Mapped[int]
    y: Mapped[int]
    viewport_w: Mapped[int]
    selector: Mapped[str] = mapped_column(String(SELECTOR_LEN))
    fx: Mapped[float]
    fy: Mapped[float]
    tag: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(CLICK_TEXT_LEN), default="")
    href: Mapped[str | None] = mapped_column(String(URL_LEN))
    interactive: Mapped[bool] = mapped_column(Boolean)
    # Frustration signals the snippet judged after the click: no reaction within
    # the dead-click window, or a JavaScript error within 1 s.
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[bool] = mapped_column(Boolean, default=False)


class PageSection(Base):
    """An h1–h3 section of one page view: its layout and cumulative active time."""

    __tablename__ = "page_sections"

    pageview_id: Mapped[int] = mapped_column(
        ForeignKey("pageviews.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Layout (from the "l" event; empty until it arrives)
    level: Mapped[int | None]
    heading: Mapped[str | None] = mapped_column(String(HEADING_LEN))
    top_px: Mapped[int | None]
    height_px: Mapped[int | None]
    # Attention (from "a" events; the maximum sent)
    active_ms: Mapped[int] = mapped_column(Integer, default=0)


class AttentionBand(Base):
    """How long one 100 px band of the page (``band`` 0 is the top 100 px) was on
    screen while the visitor was active, during one page view: the attention map
    by depth. Cumulative, so the collector keeps the maximum it was sent."""

    __tablename__ = "attention_bands"

    pageview_id: Mapped[int] = mapped_column(
        ForeignKey("pageviews.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ms: Mapped[int] = mapped_column(Integer, default=0)


class Identify(Base):
    """An identify call: the moment a visitor said who they are."""

    __tablename__ = "identifies"
    __table_args__ = (UniqueConstraint("site_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_LEN))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    pageview_id: Mapped[int] = mapped_column(
        ForeignKey("pageviews.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(EMAIL_LEN))
    identified_at: Mapped[datetime]


class BotHit(Base):
    """A beacon from a known bot: kept apart so it never counts as a visitor."""

    __tablename__ = "bot_hits"
    __table_args__ = (Index(None, "site_id", "seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(256))
    url: Mapped[str | None] = mapped_column(String(URL_LEN))


class InboxBeacon(Base):
    """A beacon accepted under load: committed here before its 204, stored into
    the event tables moments later by the drain (``tracker.inbox``).

    Holds the validated body and the visitor uid worked out when it arrived, never
    the client's IP. ``error`` is set on a beacon the drain refused (its page view
    unknown, its site removed meanwhile): kept for the operator, not retried.
    """

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
    uid: Mapped[str] = mapped_column(String(80))
    user_agent: Mapped[str] = mapped_column(String(512))
    origin: Mapped[str | None] = mapped_column(String(URL_LEN))
    error: Mapped[str | None] = mapped_column(String(500))
