"""Who visits: pseudonymous visitors, their sessions and the daily salt that keeps
anonymous ids from linking across days."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import URL_LEN, UTM_LEN

DEVICES = ("mobile", "tablet", "desktop")


class DailySalt(Base):
    """The salt of one UTC day for anonymous visitor hashes; old ones are deleted."""

    __tablename__ = "daily_salts"

    day: Mapped[date] = mapped_column(primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class Visitor(Base):
    """One browser: a first-party id (``c:…``) or a daily anonymous hash (``h:…``)."""

    __tablename__ = "visitors"
    __table_args__ = (
        UniqueConstraint("site_id", "uid"),
        # Counts a site's visitors with a page view (the overview) from the
        # index alone; the column is set once, so later updates stay HOT.
        Index(None, "site_id", "first_view_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(80))
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # When the earliest of the visitor's stored page views was made (None: no
    # page view stored): kept by ingest, and by the purge that deletes them.
    first_view_at: Mapped[datetime | None]


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
