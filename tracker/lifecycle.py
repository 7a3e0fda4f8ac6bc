"""The end of data's life: erasing a person, and deleting raw events by age.

Owns: :func:`erase` (a lead and everything that is about them, in the caller's
transaction, with an audit row that holds no personal data) and :func:`purge`
(retention: raw events past a window go, after their days were rolled up into
``content_daily`` so long-term figures stay exact; old daily salts go too).

Neither commits: the CLI commits once, so an erasure or a purge is all or nothing.
Must not import: Flask, the dashboard.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from resonance.core.models import (
    Alert,
    AlertDelivery,
    AttentionBand,
    BotHit,
    Click,
    Erasure,
    Identify,
    IdentityConflict,
    IdentityLink,
    InboxBeacon,
    Lead,
    Note,
    PageSection,
    PageView,
    RollupState,
    StageChange,
    Visitor,
    VisitSession,
)
from tracker import rollups, summaries
from tracker.accounts import prune_accounts
from tracker.crm import normalise_email, resolve
from tracker.identity import delete_old_salts

# --- erasure ----------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed, per table, and the id of its audit row."""

    erasure_id: int
    removed: dict[str, int]


def erase(
    session: Session,
    *,
    email: str | None = None,
    crm_id: str | None = None,
    site_id: int | None = None,
    actor: str,
    now: datetime,
) -> ErasureResult:
    """Remove the lead with this e-mail or CRM id (of every site, or of one), and
    everything linked to them: leads merged with it, the browsers linked to it
    with their page views, clicks, sections, attention bands, visits and identify
    calls, identify calls that carried the e-mail from other browsers, identity
    links and conflicts, stage history and the notes about them, and their
    account when nobody else is left in it (a company name can point at the
    person). Content items and daily figures stay (they are about pages, not
    people). Does not commit.
    """
    kind, key = _erasure_key(email, crm_id)
    leads = _family(session, _seed_leads(session, kind, key, site_id))
    alerts_removed = _erase_alerts(session, leads)
    # Every address the person's records hold (a merged record keeps its own).
    emails = set(
        session.scalars(
            select(Lead.email).where(Lead.id.in_(leads), Lead.email.is_not(None))
        )
    )
    lead_sites = select(Lead.site_id).where(Lead.id.in_(leads)).scalar_subquery()
    # Their accounts: deleted below when the erasure leaves them without a lead.
    accounts = set(
        session.scalars(
            select(Lead.account_id).where(
                Lead.id.in_(leads), Lead.account_id.is_not(None)
            )
        )
    )
    visitors = list(
        session.scalars(
            select(IdentityLink.visitor_id).where(IdentityLink.lead_id.in_(leads))
        )
    )
    views = select(PageView.id).where(PageView.visitor_id.in_(visitors))
    statements = {
        "clicks": delete(Click).where(Click.pageview_id.in_(views)),
        "page_sections": delete(PageSection).where(PageSection.pageview_id.in_(views)),
        "attention_bands": delete(AttentionBand).where(
            AttentionBand.pageview_id.in_(views)
        ),
        "identifies": delete(Identify).where(
            or_(
                Identify.visitor_id.in_(visitors),
                Identify.email.in_(emails) & Identify.site_id.in_(lead_sites),
            )
        ),
        "pageviews": delete(PageView).where(PageView.visitor_id.in_(visitors)),
        "visit_sessions": delete(VisitSession).where(
            VisitSession.visitor_id.in_(visitors)
        ),
        "identity_conflicts": delete(IdentityConflict).where(
            or_(
                IdentityConflict.visitor_id.in_(visitors),
                IdentityConflict.linked_lead_id.in_(leads),
                IdentityConflict.attempted_lead_id.in_(leads),
            )
        ),
        "identity_links": delete(IdentityLink).where(
            or_(IdentityLink.visitor_id.in_(visitors), IdentityLink.lead_id.in_(leads))
        ),
        "stage_changes": delete(StageChange).where(StageChange.lead_id.in_(leads)),
        "notes": delete(Note).where(Note.lead_id.in_(leads)),
        "visitors": delete(Visitor).where(Visitor.id.in_(visitors)),
        "leads": delete(Lead).where(Lead.id.in_(leads)),
    }
    # Their page views leave the summaries of their days at the next refresh.
    summaries.changed(session, summaries.of_visitors(visitors))
    removed = {
        table: session.execute(
            statement.execution_options(synchronize_session=False)
        ).rowcount
        for table, statement in statements.items()
    } | alerts_removed
    if pruned := prune_accounts(session, accounts):
        removed["accounts"] = pruned  # named only when one went
    audit = Erasure(
        erased_at=now,
        actor=actor[:200],
        key_kind=kind,
        key_hash=key_hash(key),
        removed=removed,
    )
    session.add(audit)
    session.flush()
    return ErasureResult(audit.id, removed)


def _erase_alerts(session: Session, leads: list[int]) -> dict[str, int]:
    """Delete the leads' alerts and their outbox rows, sent or not: nothing
    about an erased person is delivered afterwards (docs/privacy.md). The rows
    removed per table, named only when there were some."""
    alerts = select(Alert.id).where(Alert.lead_id.in_(leads))
    statements = {
        "alert_deliveries": delete(AlertDelivery).where(
            AlertDelivery.alert_id.in_(alerts)
        ),
        "alerts": delete(Alert).where(Alert.lead_id.in_(leads)),
    }
    removed = {
        table: session.execute(
            statement.execution_options(synchronize_session=False)
        ).rowcount
        for table, statement in statements.items()
    }
    return {table: rows for table, rows in removed.items() if rows}


def key_hash(key: str) -> str:
    """The SHA-256 of a normalised erasure key: lets an auditor check that a given
    request was honoured without the log keeping the address."""
    return hashlib.sha256(key.encode()).hexdigest()


def _erasure_key(email: str | None, crm_id: str | None) -> tuple[str, str]:
    if (email is None) == (crm_id is None):
        raise ValueError("give exactly one of an e-mail address or a CRM id")
    if email is not None:
        key = normalise_email(email)
        if not key or "@" not in key:
            raise ValueError(f"{email!r} is not an e-mail address")
        return "email", key
    key = (crm_id or "").strip()
    if not key:
        raise ValueError("the CRM id is empty")
    return "crm_id", key


def _seed_leads(
    session: Session, kind: str, key: str, site_id: int | None
) -> list[Lead]:
    column = Lead.email if kind == "email" else Lead.crm_id
    stmt = select(Lead).where(column == key)
    if site_id is not None:
        stmt = stmt.where(Lead.site_id == site_id)
    return list(session.scalars(stmt))


def _family(session: Session, seeds: list[Lead]) -> list[int]:
    """The survivors of the seeds' merges and every lead merged into them: one
    person the CRM once held as several records."""
    family = {resolve(session, lead).id for lead in seeds}
    frontier = set(family)
    while frontier:
        frontier = (
            set(
                session.scalars(
                    select(Lead.id).where(Lead.merged_into_id.in_(frontier))
                )
            )
            - family
        )
        family |= frontier
    return sorted(family)


# --- retention --------------------------------------------------------------------

WINDOW = re.compile(r"\s*([1-9][0-9]{0,3})\s*([dwmy])\s*\Z")
# A browser whose events were all purged is deleted once it has been quiet this
# long: a concurrent beacon may have just found it and be adding a page view.
IDLE_BROWSER = timedelta(days=1)


def parse_window(text: str) -> tuple[int, str]:
    """``13m`` → (13, "m"): days, weeks, months or years (``m`` is months)."""
    match = WINDOW.match(text.lower())
    if not match:
        raise ValueError(
            f"{text!r}: use a number and d, w, m or y (days, weeks, months, years), "
            "e.g. 13m"
        )
    return int(match[1]), match[2]


def cutoff_day(now: datetime, window: str) -> date:
    """The first day that is kept: raw events before its midnight are older than
    ``window``. Whole UTC days, so a day is either all raw or all rolled up."""
    amount, unit = parse_window(window)
    today = now.date()
    if unit in ("d", "w"):
        return today - timedelta(days=amount * (7 if unit == "w" else 1))
    return _months_before(today, amount * (12 if unit == "y" else 1))


def _months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the 31st becomes the last)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def purge(session: Session, older_than: str, now: datetime) -> dict[str, int]:
    """Delete raw events older than ``older_than`` (``13m``, ``400d``…) after
    rolling their days up; the rows deleted per table (``content_daily`` is the
    day rows written). Leads, stage history, notes and content items stay: they
    are CRM data and the catalog, not events; ``erase`` removes a person.
    Does not commit.
    """
    keep_from = rollups.midnight(cutoff_day(now, older_than))
    today = now.date()
    deleted = {"content_daily": rollups.refresh(session, today)}
    # The summaries of the days deleted are kept: brought up to date first.
    summaries.refresh(session, keep_from.date(), limit=None)
    old_views = select(PageView.id).where(PageView.viewed_at < keep_from)
    visitor_used = [
        exists().where(model.visitor_id == Visitor.id)
        for model in (PageView, VisitSession, IdentityLink, Identify, IdentityConflict)
    ]
    statements = {
        "clicks": delete(Click).where(Click.pageview_id.in_(old_views)),
        "page_sections": delete(PageSection).where(
            PageSection.pageview_id.in_(old_views)
        ),
        "attention_bands": delete(AttentionBand).where(
            AttentionBand.pageview_id.in_(old_views)
        ),
        "identifies": delete(Identify).where(Identify.pageview_id.in_(old_views)),
        "pageviews": delete(PageView).where(PageView.viewed_at < keep_from),
        "visit_sessions": delete(VisitSession).where(
            VisitSession.last_seen_at < keep_from,
            ~exists().where(PageView.session_id == VisitSession.id),
        ),
        "bot_hits": delete(BotHit).where(BotHit.seen_at < keep_from),
        # Beacons the inbox could not store: kept for the operator, not for ever.
        "inbox": delete(InboxBeacon).where(
            InboxBeacon.error.is_not(None), InboxBeacon.received_at < keep_from
        ),
        "identity_conflicts": delete(IdentityConflict).where(
            IdentityConflict.seen_at < keep_from
        ),
        # A browser with nothing left; one seen lately may be mid-batch.
        "visitors": delete(Visitor).where(
            Visitor.last_seen_at < now - IDLE_BROWSER,
            *(~used for used in visitor_used),
        ),
    }
    for table, statement in statements.items():
        deleted[table] = session.execute(
            statement.execution_options(synchronize_session=False)
        ).rowcount
    deleted["daily_salts"] = delete_old_salts(session, today)
    _refresh_first_views(session, keep_from)
    _mark_purged(session, keep_from.date())
    return deleted


def _refresh_first_views(session: Session, keep_from: datetime) -> None:
    """Visitors whose earliest page view was deleted: their earliest one left
    (None when none is), so that the overview counts the visitors with one."""
    earliest = (
        select(func.min(PageView.viewed_at))
        .where(PageView.visitor_id == Visitor.id)
        .scalar_subquery()
    )
    session.execute(
        update(Visitor)
        .where(Visitor.first_view_at < keep_from)
        .values(first_view_at=earliest)
        .execution_options(synchronize_session=False)
    )


def _mark_purged(session: Session, keep_from: date) -> None:
    """Days before ``keep_from`` are final in every site's daily figures."""
    for state in session.scalars(select(RollupState)):
        state.purged_before = max(state.purged_before or keep_from, keep_from)
    session.flush()


def oldest_event(session: Session) -> datetime | None:
    """When the oldest raw page view kept was viewed (for the CLI's summary)."""
    return session.scalar(select(func.min(PageView.viewed_at)))
