"""Who a beacon is from: visitor ids, the daily anonymous hash, and leads.

Owns: choosing a visitor's uid (the snippet's first-party id where the site's
privacy mode allows it, else a hash of site, IP and user agent salted per UTC day,
so that no IP is stored and yesterday's hashes cannot be recomputed once the salt is
deleted on the first beacon of the next day), and linking visitors to leads.

Page views point at a visitor, never at a lead: linking a visitor to a lead
therefore attaches all of its earlier, anonymous history at once, with no rewrite.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from resonance.core.dialect import insert
from resonance.core.models import DailySalt, IdentityConflict, IdentityLink, Visitor
from tracker import summaries
from tracker.sites import SiteInfo

_salts: dict[date, str] = {}
_salts_lock = threading.Lock()


def daily_salt(session: Session, day: date) -> str:
    """The salt of ``day``, created (and older ones deleted) on first use."""
    if salt := _salts.get(day):
        return salt
    session.execute(
        insert(session, DailySalt)
        .values(day=day, salt=secrets.token_hex(32))
        .on_conflict_do_nothing()
    )
    delete_old_salts(session, day)
    salt = session.scalar(select(DailySalt.salt).where(DailySalt.day == day))
    with _salts_lock:
        _salts.clear()  # only today's salt is ever needed in memory
        _salts[day] = salt
    return salt


def delete_old_salts(session: Session, today: date) -> int:
    """Delete every salt before ``today``; the number deleted.

    Hashes are only ever computed with the current day's salt, so nothing needs
    yesterday's: once it is gone, yesterday's hashes cannot be recomputed from an
    IP address and a user agent. Called on the first beacon of each day and by
    ``resonance purge`` (for days without traffic).
    """
    return session.execute(delete(DailySalt).where(DailySalt.day < today)).rowcount


def forget_salts() -> None:
    """Drop the in-memory salts (tests that rotate the day)."""
    with _salts_lock:
        _salts.clear()


def visitor_uid(
    session: Session,
    site: SiteInfo,
    client_id: str | None,
    *,
    ip: str,
    user_agent: str,
    privacy_signal: bool,
    now: datetime,
) -> str:
    """``c:<client id>`` where the site and the browser allow it, else ``h:<hash>``.

    A browser sending Global Privacy Control or Do Not Track is anonymous whatever
    the site's mode, even if a snippet sent an id anyway.
    """
    if client_id and site.stores_visitor_id and not privacy_signal:
        return f"c:{client_id}"
    salt = daily_salt(session, now.date())
    material = f"{salt}|{site.id}|{ip}|{user_agent}".encode()
    return "h:" + hashlib.sha256(material).hexdigest()[:32]


def is_anonymous(uid: str) -> bool:
    """True for a daily hash: it cannot be identified or joined to a lead."""
    return uid.startswith("h:")


def link_visitor(
    session: Session,
    site_id: int,
    visitor_id: int,
    lead_id: int,
    *,
    source: str,
    now: datetime,
) -> bool:
    """Link a visitor to a lead; False (and a conflict row) if it is someone else.

    A browser already linked to lead A that identifies as lead B is a shared
    browser: A's history is not moved to B (PostHog refuses such merges too).
    """
    linked = session.scalar(
        select(IdentityLink.lead_id).where(IdentityLink.visitor_id == visitor_id)
    )
    if linked is None:
        # Its page views move to the lead's cohort in the summaries.
        summaries.changed(session, summaries.of_visitors([visitor_id]))
        session.execute(
            insert(session, IdentityLink)
            .values(
                visitor_id=visitor_id, lead_id=lead_id, linked_at=now, source=source
            )
            .on_conflict_do_nothing()
        )
        linked = session.scalar(
            select(IdentityLink.lead_id).where(IdentityLink.visitor_id == visitor_id)
        )
    if linked == lead_id:
        return True
    session.add(
        IdentityConflict(
            site_id=site_id,
            visitor_id=visitor_id,
            linked_lead_id=linked,
            attempted_lead_id=lead_id,
            seen_at=now,
        )
    )
    return False


def record_rotation(
    session: Session, site_id: int, old_uid: str, lead_id: int, now: datetime
) -> None:
    """Record that a browser linked to one lead identified as another.

    The snippet rotates its visitor id when a different person identifies in the
    same browser, and names the old id (``o``) in that batch: the new id is
    linked to the new lead; the old one keeps its lead and its history.
    """
    old = session.execute(
        select(Visitor.id, IdentityLink.lead_id)
        .join(IdentityLink, IdentityLink.visitor_id == Visitor.id)
        .where(Visitor.site_id == site_id, Visitor.uid == old_uid)
    ).first()
    if old is None or old.lead_id == lead_id:
        return
    session.add(
        IdentityConflict(
            site_id=site_id,
            visitor_id=old.id,
            linked_lead_id=old.lead_id,
            attempted_lead_id=lead_id,
            seen_at=now,
        )
    )
