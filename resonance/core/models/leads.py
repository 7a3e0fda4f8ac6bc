"""The CRM side: leads and their stage changes, the identities joined to them,
notes, API tokens, and the record of erasures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import EMAIL_LEN, HEADING_LEN


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
    # The CRM's id of the lead's company, and the account the lead is grouped in.
    company_crm_id: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
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
