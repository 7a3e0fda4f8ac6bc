"""Leads and lifecycle stages as the CRM tells them.

Owns: the lead upsert that every source shares (the CRM API, the CSV import, the
snippet's identify), the append-only stage history and what is derived from it (a
lead's current stage and the moment it reached sales), and merging two leads the
CRM says are one person. The stage vocabulary lives in ``tracker.stages`` and is
re-exported here. No Flask: the API, the CSV import and the CLI all call these
functions and commit.

Derived values are recomputed in SQL from the whole history on every change
instead of being patched from the event that just arrived, because CRM webhooks
arrive late, twice and out of order: the latest ``entered_at`` is the current
stage, the earliest qualifying ``entered_at`` is ``reached_sales_at``, whatever the
order of arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.dialect import insert
from resonance.core.models import (
    IdentityConflict,
    IdentityLink,
    Lead,
    Note,
    Site,
    StageChange,
)
from tracker import summaries
from tracker.accounts import assign_account, follow_survivor, new_lead_account
from tracker.stages import (  # noqa: F401 - the stages are part of the CRM's API
    DEFAULT_REACHED_SALES,
    FUNNEL,
    STAGE_NAMES,
    STAGES,
    normalise_stage,
    qualifying_stages,
    reached_sales,
)

# Same shape the collector accepts for identify (tracker/beacon.py).
EMAIL_PATTERN = r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$"
CRM_ID_LEN = 128
FIELD_LEN = 200
STAGE_RAW_LEN = 100
EVENT_ID_LEN = 128
# A merge chain longer than this is a cycle or corruption, never real data.
_MAX_HOPS = 32


class LeadConflict(ValueError):
    """The CRM's data contradicts itself: e.g. an e-mail held by another CRM id."""


def normalise_email(email: str | None) -> str | None:
    """Trimmed and lower-cased, as the collector stores it; blank is None."""
    if email is None:
        return None
    return email.strip().lower() or None


# --- leads ----------------------------------------------------------------------


@dataclass(frozen=True)
class LeadWrite:
    """What an upsert did: the (surviving) lead, and whether it was new or changed."""

    lead: Lead
    created: bool
    changed: bool


def upsert_lead(
    session: Session,
    site_id: int,
    *,
    email: str | None = None,
    crm_id: str | None = None,
    name: str | None = None,
    company: str | None = None,
    company_id: str | None = None,
    owner: str | None = None,
    now: datetime,
    overwrite: bool = True,
) -> LeadWrite:
    """The site's lead for ``crm_id`` or else ``email``, created or updated: the
    one lead upsert of every source (the CRM API, the CSV import, the snippet's
    identify call), so they cannot disagree on what a lead is.

    Fields given (not None) overwrite, or with ``overwrite=False`` only fill the
    ones the lead has none of (what a visitor typed into a form never replaces
    what the CRM says); a lead that was merged resolves to the survivor. A new
    or changed lead, or one without an account, is (re)grouped into its account
    (``tracker.accounts``: ``company_id`` is the CRM's company). Raises
    :class:`LeadConflict` (before writing anything) when the e-mail belongs to a
    lead of another CRM id. Does not commit.
    """
    email = normalise_email(email)
    crm_id = (crm_id or "").strip() or None
    if email is None and crm_id is None:
        raise ValueError("a lead needs an e-mail or a CRM id")
    fields = {
        "name": name,
        "company": company,
        "company_crm_id": company_id,
        "owner": owner,
    }
    for _ in range(2):  # a second look when a concurrent writer created it first
        found = _by_crm_id(session, site_id, crm_id)
        by_email = _by_email(session, site_id, email)
        lead = resolve(session, found or by_email)
        if lead is not None:
            return _update_lead(
                session, lead, (found, by_email), email, crm_id, fields, now, overwrite
            )
        # A new lead's account first, so that the lead is inserted in it.
        account_id = new_lead_account(session, site_id, email, fields, now)
        lead_id = _insert_lead(session, site_id, email, crm_id, now, account_id)
        if lead_id is not None:
            lead = session.get(Lead, lead_id)
            return LeadWrite(lead, created=True, changed=_set_fields(lead, fields))
    raise LeadConflict("the lead changed concurrently; retry")


def _update_lead(
    session: Session,
    lead: Lead,
    found: tuple[Lead | None, Lead | None],
    email: str | None,
    crm_id: str | None,
    fields: dict[str, str | None],
    now: datetime,
    overwrite: bool,
) -> LeadWrite:
    """Bring an existing lead up to date; every conflict is checked before a write.
    ``found``: the leads holding the CRM id and the e-mail."""
    found_by_crm_id, holder = found
    absorb = _email_holder_to_absorb(session, lead, holder, email)
    claim_crm_id = _crm_id_to_claim(lead, found_by_crm_id, crm_id, email)
    changed = False
    if absorb is not None:
        merge_leads(session, lead.site_id, absorb.id, lead.id, now=now)
        changed = True
    if claim_crm_id:
        lead.crm_id = claim_crm_id
        changed = True
    if email and lead.email != email and not _by_email(session, lead.site_id, email):
        lead.email = email  # the CRM says the contact's address changed
        changed = True
    changed |= _set_fields(lead, fields, overwrite)
    if changed or lead.account_id is None:  # an unchanged lead: no statement
        assign_account(session, lead, now)
    session.flush()
    return LeadWrite(lead, created=False, changed=changed)


def _email_holder_to_absorb(
    session: Session, lead: Lead, holder: Lead | None, email: str | None
) -> Lead | None:
    """The snippet-made lead holding ``email`` that ``lead`` must absorb, if any.

    The CRM says ``lead`` has this e-mail; a lead without a CRM id that holds it
    is the same person seen by the snippet first. One with another CRM id is a
    contradiction the CRM must resolve (by a merge), so it is refused.
    """
    if holder is None or email is None:
        return None
    survivor = resolve(session, holder)
    if survivor.id == lead.id:
        return None
    if survivor.crm_id is not None and lead.crm_id is not None:
        raise LeadConflict(
            f"e-mail {email!r} belongs to the lead with crm_id {survivor.crm_id!r}"
        )
    return survivor


def _crm_id_to_claim(
    lead: Lead,
    found_by_crm_id: Lead | None,
    crm_id: str | None,
    email: str | None,
) -> str | None:
    """The CRM id to give ``lead`` (found by e-mail), or None; refuses a clash."""
    if crm_id is None or found_by_crm_id is not None or lead.crm_id == crm_id:
        return None
    if lead.crm_id is not None:
        raise LeadConflict(
            f"e-mail {email!r} belongs to the lead with crm_id {lead.crm_id!r}"
        )
    return crm_id


def _insert_lead(
    session: Session,
    site_id: int,
    email: str | None,
    crm_id: str | None,
    now: datetime,
    account_id: int | None,
) -> int | None:
    """Insert a new lead; None when a concurrent writer took the e-mail or id."""
    row = session.execute(
        insert(session, Lead)
        .values(
            site_id=site_id,
            email=email,
            crm_id=crm_id,
            created_at=naive_utc(now),
            account_id=account_id,
        )
        .on_conflict_do_nothing()
        .returning(Lead.id)
    ).first()
    return row[0] if row else None


def _set_fields(
    lead: Lead, fields: dict[str, str | None], overwrite: bool = True
) -> bool:
    """Set the given (non-blank) fields, or only those the lead has none of;
    whether any value changed."""
    changed = False
    for field, value in fields.items():
        value = (value or "").strip() or None
        if value is None or (not overwrite and getattr(lead, field) is not None):
            continue
        if getattr(lead, field) != value:
            setattr(lead, field, value)
            changed = True
    return changed


def _by_crm_id(session: Session, site_id: int, crm_id: str | None) -> Lead | None:
    if crm_id is None:
        return None
    return session.scalar(
        select(Lead).where(Lead.site_id == site_id, Lead.crm_id == crm_id)
    )


def _by_email(session: Session, site_id: int, email: str | None) -> Lead | None:
    if email is None:
        return None
    return session.scalar(
        select(Lead).where(Lead.site_id == site_id, Lead.email == email)
    )


def resolve(session: Session, lead: Lead | None) -> Lead | None:
    """The lead that ``lead`` was (perhaps transitively) merged into, or itself."""
    for _ in range(_MAX_HOPS):
        if lead is None or lead.merged_into_id is None:
            return lead
        lead = session.get(Lead, lead.merged_into_id)
    raise RuntimeError(f"lead {lead.id} has a merge chain longer than {_MAX_HOPS}")


def find_lead(
    session: Session, site_id: int, key: str, *, follow_merges: bool = True
) -> Lead | None:
    """The site's lead whose CRM id or (normalised) e-mail is ``key``; a merged
    lead resolves to its survivor unless ``follow_merges`` is False."""
    lead = _by_crm_id(session, site_id, key.strip() or None)
    if lead is None:
        lead = _by_email(session, site_id, normalise_email(key))
    return resolve(session, lead) if follow_merges else lead


def stage_history(session: Session, lead_id: int) -> list[StageChange]:
    """A lead's stage changes in the order they happened."""
    return list(
        session.scalars(
            select(StageChange)
            .where(StageChange.lead_id == lead_id)
            .order_by(StageChange.entered_at, StageChange.id)
        )
    )


# --- stages ---------------------------------------------------------------------


def record_stage_change(
    session: Session,
    site_id: int,
    lead_id: int,
    *,
    stage_raw: str,
    entered_at: datetime,
    crm_event_id: str,
    now: datetime,
    recompute: bool = True,
) -> bool:
    """Append a stage change once per CRM event id; False for a replay.

    Then recompute the lead's current stage and ``reached_sales_at`` from its
    whole history. A merged lead's change goes to the survivor. A batch may pass
    ``recompute=False`` and call :func:`recompute_stages` once for the leads it
    touched. Does not commit.
    """
    lead = resolve(session, session.get(Lead, lead_id))
    if lead is None or lead.site_id != site_id:
        raise ValueError(f"lead {lead_id} is not a lead of site {site_id}")
    stage_raw = stage_raw.strip()
    row = session.execute(
        insert(session, StageChange)
        .values(
            site_id=site_id,
            lead_id=lead.id,
            stage=normalise_stage(stage_raw),
            stage_raw=stage_raw,
            entered_at=naive_utc(entered_at),
            crm_event_id=crm_event_id,
            received_at=naive_utc(now),
        )
        .on_conflict_do_nothing()
        .returning(StageChange.id)
    ).first()
    if row is None:
        return False
    if recompute:
        recompute_stages(session, site_id, [lead.id])
    return True


def recompute_stages(
    session: Session, site_id: int, lead_ids: list[int] | None = None
) -> None:
    """Set ``stage``, ``stage_raw`` and ``reached_sales_at`` from the history.

    One UPDATE with correlated subqueries, for the given leads or the whole site
    (after its reached-sales threshold changed). A lead without history gets
    NULLs, which is what a merged-away lead should show.
    """
    threshold = session.scalar(
        select(Site.reached_sales_stage).where(Site.id == site_id)
    )
    qualifying = qualifying_stages(normalise_stage(threshold or DEFAULT_REACHED_SALES))
    latest = (
        select(StageChange)
        .where(StageChange.lead_id == Lead.id)
        .order_by(StageChange.entered_at.desc(), StageChange.id.desc())
        .limit(1)
    )
    first_qualifying = (
        select(func.min(StageChange.entered_at))
        .where(StageChange.lead_id == Lead.id, StageChange.stage.in_(qualifying))
        .scalar_subquery()
    )
    statement = (
        update(Lead)
        .where(Lead.site_id == site_id)
        .values(
            stage=latest.with_only_columns(StageChange.stage).scalar_subquery(),
            stage_raw=latest.with_only_columns(StageChange.stage_raw).scalar_subquery(),
            reached_sales_at=first_qualifying,
        )
        .execution_options(synchronize_session="fetch")
    )
    if lead_ids is not None:
        statement = statement.where(Lead.id.in_(lead_ids))
    # The leads' page views change cohort (stage, reached sales) in the summaries.
    summaries.changed(session, summaries.of_leads(lead_ids, site_id))
    session.execute(statement)


# --- merges ---------------------------------------------------------------------


def merge_leads(
    session: Session,
    site_id: int,
    from_lead_id: int,
    into_lead_id: int,
    *,
    now: datetime,
) -> None:
    """Make ``from`` a part of ``into``, as the CRM merged the two contacts.

    Visitors, stage history, notes and conflicts move to the survivor (page views
    point at visitors, so the merged lead's reading now counts for the survivor
    with no rewrite); empty fields of the survivor are filled from ``from``; the
    merged lead stays, marked ``merged_into_id``, so that its e-mail and CRM id
    still find the survivor, and joins the survivor's account (decided again:
    the survivor may have gained a company; an account left empty goes).
    Merging a lead already merged into ``into`` is a no-op (a replayed
    webhook). ``now`` dates an account the merge creates. Does not commit.
    """
    source = session.get(Lead, from_lead_id)
    target = session.get(Lead, into_lead_id)
    for lead, role in ((source, "from"), (target, "into")):
        if lead is None or lead.site_id != site_id:
            raise ValueError(f"{role}: no such lead in this site")
    source, target = resolve(session, source), resolve(session, target)
    if source.id == target.id:
        return
    _repoint(session, source.id, target.id)
    _fill_empty_fields(session, source, target)
    source.merged_into_id = target.id
    session.flush()
    follow_survivor(session, target, source.account_id, now)
    # Their page views may change cohort: recompute_stages marks them.
    recompute_stages(session, site_id, [source.id, target.id])


def _repoint(session: Session, old: int, new: int) -> None:
    """Move everything that refers to lead ``old`` onto lead ``new``."""
    session.execute(
        update(IdentityLink).where(IdentityLink.lead_id == old).values(lead_id=new)
    )
    session.execute(
        update(StageChange).where(StageChange.lead_id == old).values(lead_id=new)
    )
    session.execute(update(Note).where(Note.lead_id == old).values(lead_id=new))
    session.execute(
        update(Lead).where(Lead.merged_into_id == old).values(merged_into_id=new)
    )
    for column in (IdentityConflict.linked_lead_id, IdentityConflict.attempted_lead_id):
        session.execute(
            update(IdentityConflict).where(column == old).values({column: new})
        )
    # A browser shared "between" two records of one person was no conflict.
    session.execute(
        delete(IdentityConflict).where(
            IdentityConflict.linked_lead_id == new,
            IdentityConflict.attempted_lead_id == new,
        )
    )


def _fill_empty_fields(session: Session, source: Lead, target: Lead) -> None:
    """Give ``target`` what it lacks; unique keys move (a key has one owner)."""
    for field in ("name", "company", "company_crm_id", "owner"):
        if getattr(target, field) is None and getattr(source, field) is not None:
            setattr(target, field, getattr(source, field))
    for field in ("email", "crm_id"):
        value = getattr(source, field)
        if getattr(target, field) is None and value is not None:
            setattr(source, field, None)
            session.flush()  # release the unique value before the survivor takes it
            setattr(target, field, value)
