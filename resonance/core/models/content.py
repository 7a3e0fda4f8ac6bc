"""What is read: pages (content), their sections and groups, heatmap snapshots of
their elements, and the daily rollups kept of them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import HEADING_LEN, SELECTOR_LEN, TITLE_LEN, URL_LEN

# Content kinds: what is read, and the pages a reader converts on.
CONTENT = "content"
CONVERSION = "conversion"
CONTENT_KINDS = (CONTENT, CONVERSION)


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
    # ``content`` or ``conversion`` (contact, demo request, thank-you): conversion
    # pages are left out of suggested reads and influence credit by default.
    kind: Mapped[str] = mapped_column(
        String(16), default=CONTENT, server_default=CONTENT
    )
    # ``auto`` (a URL rule or the crawl chose, and may choose again) or ``hand``.
    kind_source: Mapped[str] = mapped_column(
        String(8), default="auto", server_default="auto"
    )
    # A page whose reading signals buying intent (pricing, case studies): alerts
    # the lead's owner. Set by URL rules (``auto``) or by hand.
    high_intent: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    high_intent_source: Mapped[str] = mapped_column(
        String(8), default="auto", server_default="auto"
    )


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
    # The element's human name when the snapshot was taken: its text,
    # ``aria-label``, ``alt`` or ``data-*`` label ("" when it has none).
    label: Mapped[str] = mapped_column(String(120), default="", server_default="")


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
