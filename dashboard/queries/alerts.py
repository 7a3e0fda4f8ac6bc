"""Alerts of a site, newest first, with each delivery's state.

Owns: the rows of the alerts page and its JSON twin. "Mine" means alerts whose
owner (as the CRM named it when the alert fired) is the user's e-mail address
or username, compared without case. No Flask, no Plotly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from resonance.core.models import (
    Account,
    Alert,
    AlertDelivery,
    AlertRule,
    Content,
    Lead,
    User,
)

LIMIT = 200


@dataclass
class DeliveryRow:
    id: int
    channel: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass
class AlertRow:
    id: int
    rule: str
    fired_at: datetime
    summary: str
    owner: str | None
    lead_id: int
    lead: str
    account_id: int | None
    account: str | None
    content_id: int | None
    content_title: str | None
    content_url: str | None
    deliveries: list[DeliveryRow] = field(default_factory=list)


def owner_names(session: Session, user_id: int) -> tuple[str, ...]:
    """What a CRM may call this user as a lead's owner: username and e-mail."""
    row = session.execute(
        select(User.username, User.email).where(User.id == user_id)
    ).first()
    return tuple(n.lower() for n in (row or ()) if n)


def site_alerts(
    session: Session, site_id: int, owners: tuple[str, ...] | None = None
) -> list[AlertRow]:
    """The site's latest alerts (only those of ``owners`` when given)."""
    query = (
        select(
            Alert.id,
            AlertRule.kind,
            Alert.fired_at,
            Alert.summary,
            Alert.owner,
            Lead.id,
            func.coalesce(Lead.name, Lead.email, ""),
            Account.id,
            Account.name,
            Content.id,
            Content.title,
            Content.url,
        )
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .join(Lead, Lead.id == Alert.lead_id)
        .outerjoin(Account, Account.id == Alert.account_id)
        .outerjoin(Content, Content.id == Alert.content_id)
        .where(Alert.site_id == site_id)
        .order_by(Alert.fired_at.desc(), Alert.id.desc())
        .limit(LIMIT)
    )
    if owners is not None:
        query = query.where(
            or_(*(func.lower(Alert.owner) == o for o in owners))
            if owners
            else Alert.id.is_(None)
        )
    rows = [AlertRow(*row) for row in session.execute(query).all()]
    by_id = {row.id: row for row in rows}
    if by_id:
        for alert_id, *delivery in session.execute(
            select(
                AlertDelivery.alert_id,
                AlertDelivery.id,
                AlertDelivery.channel,
                AlertDelivery.target,
                AlertDelivery.state,
                AlertDelivery.attempts,
                AlertDelivery.next_attempt_at,
                AlertDelivery.sent_at,
                AlertDelivery.last_error,
            )
            .where(AlertDelivery.alert_id.in_(by_id))
            .order_by(AlertDelivery.id)
        ).all():
            by_id[alert_id].deliveries.append(DeliveryRow(*delivery))
    return rows
