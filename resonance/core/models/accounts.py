"""Accounts, alerts and their delivery: the sales moments layer.

An account groups a site's leads by company: the CRM's company when it sends
one, else the e-mail domain (never a free-mail domain). Alerts are fired by
rules when events are stored (``tracker.alerts``), at most once per lead, rule
and day; each delivery of one (an e-mail, a webhook call) is a row of the
outbox, written in the same transaction as the events that caused it, and
retried with backoff until it is sent (``tracker.outbox``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import URL_LEN

# Alert rule kinds: a known lead at or past a stage returns after days away; a
# lead reads a high-intent page; a second person of an account appears.
RULE_KINDS = ("returning", "high_intent", "second_person")
# Outbox channels and delivery states.
CHANNELS = ("email", "webhook")
DELIVERY_STATES = ("pending", "sent", "failed")


class Account(Base):
    """A company: the leads of a site grouped by CRM company or e-mail domain."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("site_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # ``crm:<company id>`` or ``domain:<e-mail domain>``: what grouped the leads.
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    created_at: Mapped[datetime]


class AlertRule(Base):
    """When to tell a lead's owner: one rule of a site (defaults made per site)."""

    __tablename__ = "alert_rules"
    __table_args__ = (Index(None, "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # ``returning``: the lead is at or past this stage …
    stage: Mapped[str | None] = mapped_column(String(16))
    # … and comes back after at least this many days away.
    days_away: Mapped[int | None]
    created_at: Mapped[datetime]


class Alert(Base):
    """A rule that fired for a lead: at most once per lead, rule and day."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule_id", "lead_id", "day"),
        Index(None, "site_id", "fired_at"),
        Index(None, "lead_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE")
    )
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    content_id: Mapped[int | None] = mapped_column(
        ForeignKey("contents.id", ondelete="SET NULL")
    )
    # The UTC day it fired (the once-a-day key) and when.
    day: Mapped[date]
    fired_at: Mapped[datetime]
    # Who it is for: the lead's owner when it fired (e-mail address or name).
    owner: Mapped[str | None] = mapped_column(String(200))
    # One line for people ("Ann Lee (Redwing) read Pricing"), and the facts.
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AlertDelivery(Base):
    """The outbox: one sending of an alert on one channel, retried until sent."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index(None, "state", "next_attempt_at"),
        Index(None, "alert_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    # An e-mail address or the webhook's URL.
    target: Mapped[str] = mapped_column(String(URL_LEN))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
