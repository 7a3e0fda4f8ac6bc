"""Every table of Resonance, as typed SQLAlchemy 2.0 models.

Owns: the schema (Alembic migrations are generated from it). Imports no Flask and
nothing else of the app, so the dashboard's queries, the CLI and the migrations can
all use it.

Conventions: every ``*_at`` column is a naive UTC datetime; ``*_ms`` milliseconds;
``*_px`` CSS pixels; ``*_pct`` percent 0–100. Page views, clicks and identify calls
carry the client's event id, unique per site, which is what makes a re-sent batch
harmless. Scroll and attention are cumulative state kept on the page view and its
sections (the collector keeps the maximum), so they are idempotent too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

URL_LEN = 2000
TITLE_LEN = 1024
EVENT_ID_LEN = 64
EMAIL_LEN = 254
UTM_LEN = 200
SELECTOR_LEN = 512
HEADING_LEN = 200

PRIVACY_MODES = ("anonymous", "consented", "always")
DEVICES = ("mobile", "tablet", "desktop")


class Base(DeclarativeBase):
    """Declarative base; the naming convention keeps Alembic's names stable."""

    type_annotation_map = {datetime: DateTime(), date: Date()}


Base.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Site(Base):
    """A website whose pages embed the snippet with ``data-site=key``."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Origins (scheme://host[:port]) whose pages may send beacons; "*" allows any.
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    privacy_mode: Mapped[str] = mapped_column(String(16), default="anonymous")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # A lead "reached sales" the first time it entered this stage or a later one.
    reached_sales_stage: Mapped[str] = mapped_column(String(16), default="sql")
    # Leads whose e-mail domain is listed count as internal (colleagues).
    internal_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")


class DailySalt(Base):
    """The salt of one UTC day for anonymous visitor hashes; old ones are deleted."""

    __tablename__ = "daily_salts"

    day: Mapped[date] = mapped_column(primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class Visitor(Base):
    """One browser: a first-party id (``c:…``) or a daily anonymous hash (``h:…``)."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("site_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(80))
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class VisitSession(Base):
    """A visit: page views of one visitor with no gap of 30 minutes or more."""

    __tablename__ = "visit_sessions"
    # Serves "the visitor's latest session" on every page view.
    __table_args__ = (Index(None, "visitor_id", "last_seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    # Time
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # Acquisition (from the landing page view)
    landing_url: Mapped[str] = mapped_column(String(URL_LEN))
    referrer: Mapped[str | None] = mapped_column(String(URL_LEN))
    utm_source: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_medium: Mapped[str | None] = mapped_column(String(UTM_LEN))
    utm_campaign: Mapped[str | None] = mapped_column(String(UTM_LEN))
    device: Mapped[str] = mapped_column(String(8))
    pageviews: Mapped[int] = mapped_column(Integer, default=0)


class Content(Base):
    """One content item: a canonical URL of a site that page views group under."""

    __tablename__ = "contents"
    # A hash keeps the unique index small whatever the URL's length or alphabet.
    __table_args__ = (UniqueConstraint("site_id", "url_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_LEN))
    url_hash: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(TITLE_LEN), default="")
    first_seen_at: Mapped[datetime]
    # From the catalog (``resonance crawl``): length, to compare attention with.
    words: Mapped[int | None]
    crawled_at: Mapped[datetime | None]


class ContentSection(Base):
    """An h1–h3 section of a content item as crawled: its words and reading time."""

    __tablename__ = "content_sections"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    level: Mapped[int]
    heading: Mapped[str] = mapped_column(String(HEADING_LEN))
    words: Mapped[int]


class ContentGroup(Base):
    """A rule grouping URLs into one item: ``/blog/*`` or ``/docs/*/setup``."""

    __tablename__ = "content_groups"
    __table_args__ = (UniqueConstraint("site_id", "pattern"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # A path pattern where ``*`` matches one or more characters except ``/``
    # and ``**`` matches anything.
    pattern: Mapped[str] = mapped_column(String(URL_LEN))


class Snapshot(Base):
    """A full-page screenshot of a content item at one width, for heatmaps."""

    __tablename__ = "snapshots"
    __table_args__ = (Index(None, "content_id", "width_px", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE")
    )
    width_px: Mapped[int]
    height_px: Mapped[int]
    taken_at: Mapped[datetime]
    # PNG file name under ``instance/snapshots/``.
    image: Mapped[str] = mapped_column(String(200))


class SnapshotElement(Base):
    """Where an element that clicks refer to sits in a snapshot (page px)."""

    __tablename__ = "snapshot_elements"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    selector: Mapped[str] = mapped_column(String(SELECTOR_LEN), primary_key=True)
    left_px: Mapped[float]
    top_px: Mapped[float]
    width_px: Mapped[float]
    height_px: Mapped[float]


class PageView(Base):
    """One page view, with its cumulative scroll depth and active time."""

    __tablename__ = "pageviews"
    __table_args__ = (
        UniqueConstraint("site_id", "event_id"),
        # Serves per-content figures filtered by date.
        Index(None, "content_id", "viewed_at"),
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
    text: Mapped[str] = mapped_column(String(60), default="")
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


class Lead(Base):
    """A known person: identified by the snippet, or sent by the CRM."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("site_id", "email"),
        UniqueConstraint("site_id", "crm_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(EMAIL_LEN))
    crm_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # The current lifecycle stage (latest by time) and the CRM's own name for it.
    stage: Mapped[str | None] = mapped_column(String(16))
    stage_raw: Mapped[str | None] = mapped_column(String(100))
    # First entry into the site's reached-sales stage or later; kept if it moves
    # back. Stored so that segment filters are a cheap indexed comparison.
    reached_sales_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set when the CRM merged this lead into another one.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL")
    )


class StageChange(Base):
    """A lead entering a lifecycle stage: append-only, idempotent per CRM event."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        UniqueConstraint("site_id", "crm_event_id"),
        Index(None, "lead_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    stage_raw: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime]
    crm_event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of the CRM API: only its SHA-256 is stored; revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Note(Base):
    """A note from sales on a content item ("prospect quoted this")."""

    __tablename__ = "notes"
    __table_args__ = (
        Index(None, "content_id", "created_at"),
        # Serves the notes about one prospect.
        Index(None, "lead_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE")
    )
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL")
    )
    section: Mapped[str | None] = mapped_column(String(HEADING_LEN))
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime]


class IdentityLink(Base):
    """Which lead a visitor is: one lead, many visitors (one per browser)."""

    __tablename__ = "identity_links"
    __table_args__ = (Index(None, "lead_id"),)

    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))


class IdentityConflict(Base):
    """A browser linked to one lead that identified as another (a shared browser)."""

    __tablename__ = "identity_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    linked_lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE")
    )
    attempted_lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE")
    )
    seen_at: Mapped[datetime]


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


ROLES = ("admin", "marketer", "sales")


class User(Base):
    """A person who logs in to the dashboard (``resonance user add``).

    ``session_nonce`` is copied into the signed session cookie at login; it is
    replaced on logout, password reset and disable, which ends every session the
    user had (a cookie session cannot be revoked any other way).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    session_nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UserSite(Base):
    """A site a (non-admin) user may see; admins see every site."""

    __tablename__ = "user_sites"
    __table_args__ = (Index(None, "site_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )


class ContentDaily(Base):
    """One content item on one UTC day and device class: the figures that outlive
    raw events. Filled from page views before retention deletes them; visitors
    are distinct that day only, so long-term sums of them are visitor-days."""

    __tablename__ = "content_daily"
    __table_args__ = (Index(None, "site_id", "day"),)

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    device: Mapped[str] = mapped_column(String(8), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int]
    visitors: Mapped[int]
    active_ms: Mapped[int] = mapped_column(BigInteger)
    # Page views whose deepest scroll reached at least 25, 50, 75 and 100 %.
    reached_25: Mapped[int]
    reached_50: Mapped[int]
    reached_75: Mapped[int]
    reached_100: Mapped[int]
    clicks: Mapped[int]
    dead_clicks: Mapped[int]
    error_clicks: Mapped[int]


class RollupState(Base):
    """How far a site's daily figures go, and where its raw events begin."""

    __tablename__ = "rollup_state"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    # ``content_daily`` holds every day before this one, final or refreshable.
    rolled_until: Mapped[date]
    # Raw events before this day were deleted by retention: those days' figures
    # are final and never recomputed (there is nothing left to recompute them from).
    purged_before: Mapped[date | None]


class Erasure(Base):
    """Audit of an erasure: what was asked, by whom, when and how many rows went;
    never the personal data itself (the key is kept only as its SHA-256)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    key_kind: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[str] = mapped_column(String(64))
    # Rows removed per table, e.g. {"leads": 1, "pageviews": 12}.
    removed: Mapped[dict[str, int]] = mapped_column(JSON)
