"""Alerts: rules evaluated when events are stored, and their outbox rows.

Owns: each site's alert rules (defaults made on first use, see
:func:`ensure_rules`), deciding which rules a group of new page views fires, and
writing the alerts with their deliveries (e-mail to the lead's owner, the site's
webhook) in the caller's transaction, the one that stores the page views. So an
alert exists exactly when its events do, and the outbox (``tracker.outbox``)
sends it later; the event tables are never polled.

Only page views of visitors linked to a lead can fire (a visitor is linked only
when the site's privacy mode allowed its identify call). ``tracker.ingest`` finds
them with one indexed look-up that travels with its first pipeline
(:func:`query_linked`), so a group without linked visitors costs nothing more.
Each rule fires at most once per lead and UTC day: the ``alerts`` unique key,
inserted ``ON CONFLICT DO NOTHING``, decides, whichever process stores the views.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from resonance.core.dialect import RawSql, Result, insert
from resonance.core.models import Alert, AlertDelivery, AlertRule, Site, User
from tracker.stages import reached_sales

DEFAULT_DAYS_AWAY = 14
DEFAULT_RULES = ("returning", "high_intent", "second_person")


def ensure_rules(session: Session, site_id: int, now: datetime) -> list[AlertRule]:
    """The site's rules, making the defaults the first time (a site made before
    alerts existed gets them on first use): returning (at or past the site's
    reached-sales stage, 14 days away), high-intent page, second person. The
    site's row is locked meanwhile on PostgreSQL, so two processes never make
    two sets.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: every transaction that stores a
    visitor or a content item of the site holds a key-share lock on its row
    (their foreign keys), which ``FOR UPDATE`` waits for. A group firing alerts
    then waited for another one that was itself waiting for a content item the
    first had created: a deadlock (``bench/generate.py --workers 2``)."""
    lock = select(Site.reached_sales_stage).where(Site.id == site_id)
    if session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    stage = session.scalar(lock)
    rules = list(
        session.scalars(
            select(AlertRule).where(AlertRule.site_id == site_id).order_by(AlertRule.id)
        )
    )
    if rules or stage is None:
        return rules
    for kind in DEFAULT_RULES:
        returning = kind == "returning"
        session.add(
            AlertRule(
                site_id=site_id,
                kind=kind,
                enabled=True,
                stage=stage if returning else None,
                days_away=DEFAULT_DAYS_AWAY if returning else None,
                created_at=now,
            )
        )
    session.flush()
    return ensure_rules(session, site_id, now)


# --- which visitors of a group may fire -------------------------------------------


def query_linked(sql: RawSql, visitors: Iterable[tuple[int, str]]) -> Result | None:
    """The ``(site_id, uid)`` of the given visitors that are linked to a lead
    (read when the pipeline ends); None, and no statement, when none is given."""
    visitors = sorted(set(visitors))
    if not visitors:
        return None
    among_sites, params = sql.among(sorted({site_id for site_id, _ in visitors}))
    among_uids, more = sql.among([uid for _, uid in visitors])
    return sql.query(
        "SELECT v.site_id, v.uid FROM visitors v"
        " JOIN identity_links k ON k.visitor_id = v.id"
        f" WHERE v.site_id {among_sites} AND v.uid {among_uids}",
        params + more,
    )


# --- evaluation --------------------------------------------------------------------


@dataclass
class Seen:
    """What a lead did in the group, with what is stored about them."""

    site_id: int
    lead: dict
    viewed_at: datetime
    content: dict
    high_intent: dict | None
    previous: datetime | None  # their latest page view before the group
    first_seen: datetime  # their first page view ever (the group's included)
    account_seen_before: bool  # another lead of the account seen before today


def _facts_sql(among: str) -> str:
    """Per new page view of a linked visitor: the view, its content, the lead and
    what the rules need, each an indexed look-up over the lead's own views."""
    views_of = (
        "FROM identity_links k2 JOIN pageviews p2 ON p2.visitor_id = k2.visitor_id"
        " WHERE k2.lead_id = l.id"
    )
    return (
        "SELECT pv.site_id, pv.viewed_at, c.id, c.url, c.title, c.high_intent,"
        " l.id, l.email, l.name, l.company, l.stage, l.owner, l.account_id, a.name,"
        f" (SELECT max(p2.viewed_at) {views_of} AND NOT (p2.id {among})),"
        f" (SELECT min(p2.viewed_at) {views_of}),"
        " CASE WHEN l.account_id IS NOT NULL AND EXISTS (SELECT 1 FROM leads l3"
        " JOIN identity_links k3 ON k3.lead_id = l3.id"
        " JOIN pageviews p3 ON p3.visitor_id = k3.visitor_id"
        " WHERE l3.account_id = l.account_id AND l3.id <> l.id"
        " AND p3.viewed_at < ?) THEN 1 ELSE 0 END"
        " FROM pageviews pv JOIN identity_links k ON k.visitor_id = pv.visitor_id"
        " JOIN leads l ON l.id = k.lead_id JOIN contents c ON c.id = pv.content_id"
        " LEFT JOIN accounts a ON a.id = l.account_id"
        f" WHERE pv.id {among} ORDER BY pv.viewed_at, pv.id"
    )


def seen_leads(sql: RawSql, view_ids: list[int], day_start: datetime) -> list[Seen]:
    """The leads behind the new page views ``view_ids`` (stored in this
    transaction), one :class:`Seen` each, in the order they were first seen."""
    among, ids = sql.among(sorted(view_ids))
    params = [*ids, day_start, *ids]
    by_lead: dict[int, Seen] = {}
    for row in sql.query(_facts_sql(among), params).rows():
        (site_id, at, content_id, url, title, intent, lead_id, *lead) = row[:14]
        content = {"id": content_id, "url": url, "title": title or url}
        seen = by_lead.get(lead_id)
        if seen is None:
            email, name, company, stage, owner, account_id, account = lead
            by_lead[lead_id] = seen = Seen(
                site_id=site_id,
                lead={
                    "id": lead_id,
                    "email": email,
                    "name": name,
                    "company": company,
                    "stage": stage,
                    "owner": owner,
                    "account_id": account_id,
                    "account": account,
                },
                viewed_at=sql.when(at),
                content=content,
                high_intent=None,
                previous=sql.when(row[14]) if row[14] is not None else None,
                first_seen=sql.when(row[15]),
                account_seen_before=bool(row[16]),
            )
        if intent and seen.high_intent is None:
            seen.high_intent = content
    return list(by_lead.values())


def fires(rule: AlertRule, seen: Seen, day_start: datetime) -> dict | None:
    """The content and facts of the alert ``rule`` fires for ``seen``, or None."""
    lead = seen.lead
    if rule.kind == "returning":
        days = rule.days_away if rule.days_away is not None else DEFAULT_DAYS_AWAY
        if seen.previous is None or seen.viewed_at - seen.previous < timedelta(days):
            return None
        if rule.stage and not reached_sales(lead["stage"] or "", rule.stage):
            return None
        away = (seen.viewed_at - seen.previous).days
        return {"content": seen.content, "days_away": away, "previous": seen.previous}
    if rule.kind == "high_intent":
        return {"content": seen.high_intent} if seen.high_intent else None
    if rule.kind == "second_person":
        new_today = seen.first_seen >= day_start
        if lead["account_id"] is None or not new_today:
            return None
        return {"content": seen.content} if seen.account_seen_before else None
    return None


def who(lead: dict) -> str:
    """A lead as people name them: "Ann Lee (Redwing)", else the e-mail."""
    name = lead["name"] or lead["email"] or f"lead #{lead['id']}"
    company = lead["account"] or lead["company"]
    return f"{name} ({company})" if company else name


def summary(kind: str, lead: dict, facts: dict) -> str:
    """The alert's one line, for the page, the e-mail subject and Slack: on one
    line whatever a page's title held (it came from a browser)."""
    return " ".join(_summary(kind, lead, facts).split())


def _summary(kind: str, lead: dict, facts: dict) -> str:
    title = facts["content"]["title"]
    if kind == "returning":
        return f"{who(lead)} is back after {facts['days_away']} days: read {title}"
    if kind == "high_intent":
        return f"{who(lead)} read {title} (high intent)"
    name = lead["name"] or lead["email"] or f"lead #{lead['id']}"
    account = lead["account"] or lead["company"] or "the account"
    return f"{name} is a second person from {account}: read {title}"


def fire(session: Session, view_ids: list[int], now: datetime) -> int:
    """Evaluate the rules over the new page views ``view_ids`` (linked visitors
    only) and write the alerts that fire, with their deliveries; the number of
    new alerts. In the caller's transaction; ``now`` is naive UTC."""
    sql = RawSql(session)
    day_start = datetime(now.year, now.month, now.day)
    seen = seen_leads(sql, view_ids, day_start)
    if not seen:
        return 0
    rules = {
        s: ensure_rules(session, s, now) for s in sorted({x.site_id for x in seen})
    }
    rows = []
    for one in seen:
        for rule in rules[one.site_id]:
            facts = rule.enabled and fires(rule, one, day_start)
            if facts:
                rows.append(_alert_row(rule, one, facts, now))
    if not rows:
        return 0
    new = session.execute(
        insert(session, Alert)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(Alert.id, Alert.site_id, Alert.owner)
    ).all()
    _deliveries(session, new, now)
    if new:
        session.info["alerts_fired"] = True  # wakes the outbox after the commit
    return len(new)


def _alert_row(rule: AlertRule, seen: Seen, facts: dict, now: datetime) -> dict:
    lead = seen.lead
    details = {
        "rule": rule.kind,
        "lead": {k: lead[k] for k in ("id", "email", "name", "company", "stage")},
        "account": lead["account"],
        "content": {k: facts["content"][k] for k in ("url", "title")},
        "viewed_at": seen.viewed_at.isoformat(),
    }
    if "days_away" in facts:
        details["days_away"] = facts["days_away"]
    return {
        "site_id": seen.site_id,
        "rule_id": rule.id,
        "lead_id": lead["id"],
        "account_id": lead["account_id"],
        "content_id": facts["content"]["id"],
        "day": now.date(),
        "fired_at": now,
        "owner": lead["owner"],
        "summary": summary(rule.kind, lead, facts)[:500],
        "details": details,
    }


def owner_email(session: Session, owner: str | None) -> str | None:
    """Where the owner's alerts go: the owner itself when it is an e-mail
    address, else the e-mail of the user whose username or e-mail it is."""
    owner = (owner or "").strip()
    if not owner:
        return None
    if "@" in owner:
        return owner
    return session.scalar(
        select(User.email)
        .where(
            or_(func.lower(User.username) == owner.lower(), User.email == owner),
            User.email.is_not(None),
            User.enabled,
        )
        .limit(1)
    )


def _deliveries(session: Session, new: list, now: datetime) -> None:
    """The outbox rows of new alerts: the owner's e-mail, the site's webhook."""
    if not new:
        return
    hooks = dict(
        session.execute(
            select(Site.id, Site.webhook_url).where(
                Site.id.in_({site_id for _, site_id, _ in new})
            )
        ).all()
    )
    emails: dict[str | None, str | None] = {}
    rows = []
    for alert_id, site_id, owner in new:
        if owner not in emails:
            emails[owner] = owner_email(session, owner)
        targets = [("email", emails[owner]), ("webhook", hooks.get(site_id))]
        rows += [
            {
                "alert_id": alert_id,
                "channel": channel,
                "target": target,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for channel, target in targets
            if target
        ]
    if rows:
        session.execute(insert(session, AlertDelivery).values(rows))
