"""Accounts for sales: the site's companies, most recently engaged first, and
one company's people, the content read across it and what to send it next.

Every figure is aggregated in SQL from the account's leads (merged leads are
left out: their browsers were moved to the survivor) through their visitors'
page views. "Read" is the rule of :mod:`dashboard.queries.reading`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from dashboard.queries.influence import (
    SUGGESTIONS,
    Suggestion,
    content_influence,
    suggestions_from,
)
from dashboard.queries.leads import identified
from dashboard.queries.reading import page_read
from dashboard.queries.sql import in_period
from resonance.core.models import Account, Content, IdentityLink, Lead, PageView
from tracker.stages import STAGES

LIST_LIMIT = 500
RECENT_TITLES = 3


@dataclass(frozen=True)
class StageCount:
    """How many of an account's people are at a stage."""

    stage: str
    people: int


@dataclass(frozen=True)
class AccountRow:
    """An account with its people's reading: page views, distinct pages read
    (by anyone of it), the people per stage (funnel order) and when last seen."""

    account_id: int
    name: str
    domain: str | None
    key: str
    people: int
    pageviews: int
    pages_read: int
    stages: list[StageCount]
    last_seen_at: datetime | None


def _views(site: int):
    """Page views of the site's (unmerged) grouped leads, with their lead."""
    return (
        select()
        .select_from(Lead)
        .join(IdentityLink, IdentityLink.lead_id == Lead.id)
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .where(*identified(site), Lead.account_id.is_not(None))
    )


def _stages(session: Session, site: int, account_ids: list[int] | None):
    """People per stage of each account, in funnel order."""
    stmt = (
        select(Lead.account_id, Lead.stage, func.count())
        .where(*identified(site), Lead.account_id.is_not(None), Lead.stage.is_not(None))
        .group_by(Lead.account_id, Lead.stage)
    )
    if account_ids is not None:
        stmt = stmt.where(Lead.account_id.in_(account_ids))
    order = {stage: index for index, stage in enumerate(STAGES)}
    out: dict[int, list[StageCount]] = {}
    for account_id, stage, people in session.execute(stmt):
        out.setdefault(account_id, []).append(StageCount(stage, people))
    for counts in out.values():
        counts.sort(key=lambda c: (order.get(c.stage, len(order)), c.stage))
    return out


def account_list(
    session: Session, site: int, limit: int = LIST_LIMIT, account_id: int | None = None
) -> list[AccountRow]:
    """The site's accounts that have people, most recently engaged first (those
    never seen last); one account when ``account_id`` is given (then only its
    people and page views are grouped: SQLite does not push the account into
    the grouped subqueries, and grouped every account's)."""
    one = [Lead.account_id == account_id] if account_id is not None else []
    people = (
        select(Lead.account_id, func.count().label("people"))
        .where(*identified(site), Lead.account_id.is_not(None), *one)
        .group_by(Lead.account_id)
        .subquery("people")
    )
    views = (
        _views(site)
        .where(*one)
        .add_columns(
            Lead.account_id,
            func.count(PageView.id).label("pageviews"),
            func.count(func.distinct(case((page_read(), PageView.content_id)))).label(
                "pages_read"
            ),
            func.max(PageView.viewed_at).label("last_seen"),
        )
        .group_by(Lead.account_id)
        .subquery("views")
    )
    stmt = (
        select(
            Account.id,
            Account.name,
            Account.domain,
            Account.key,
            people.c.people,
            func.coalesce(views.c.pageviews, 0),
            func.coalesce(views.c.pages_read, 0),
            views.c.last_seen,
        )
        .join(people, people.c.account_id == Account.id)
        .outerjoin(views, views.c.account_id == Account.id)
        .where(Account.site_id == site)
        .order_by(
            case((views.c.last_seen.is_(None), 1), else_=0),
            views.c.last_seen.desc(),
            Account.id.desc(),
        )
        .limit(limit)
    )
    if account_id is not None:
        stmt = stmt.where(Account.id == account_id)
    rows = session.execute(stmt).all()
    stages = _stages(session, site, [r[0] for r in rows] if account_id else None)
    return [
        AccountRow(aid, name, domain, key, n, views, read, stages.get(aid, []), seen)
        for aid, name, domain, key, n, views, read, seen in rows
    ]


# --- one account ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One of the account's people and their history in short: page views,
    visits, pages read, first and last seen, the pages they viewed last."""

    lead_id: int
    email: str | None
    name: str | None
    owner: str | None
    stage: str | None
    pageviews: int
    visits: int
    pages_read: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    recent: list[str]


@dataclass(frozen=True)
class ContentRead:
    """A content item across the account in the period: how many of its people
    viewed it and read it (the read rule), the views and the active time."""

    content_id: int
    title: str
    url: str
    people: int
    readers: int
    views: int
    active_s: float


@dataclass(frozen=True)
class AccountReport:
    """The account page: the account, its people, what it read in the period,
    and the suggested next reads for the account."""

    account: AccountRow
    since: datetime | None
    until: datetime | None
    people: list[Person]
    content: list[ContentRead]
    suggestions: list[Suggestion]
    conversion: bool


def _people(session: Session, site: int, account_id: int) -> list[Person]:
    """The account's people, most recently seen first (never seen last)."""
    views = (
        _views(site)
        .add_columns(
            Lead.id.label("lead_id"),
            func.count(PageView.id).label("pageviews"),
            func.count(func.distinct(PageView.session_id)).label("visits"),
            func.count(func.distinct(case((page_read(), PageView.content_id)))).label(
                "pages_read"
            ),
            func.min(PageView.viewed_at).label("first_seen"),
            func.max(PageView.viewed_at).label("last_seen"),
        )
        .where(Lead.account_id == account_id)
        .group_by(Lead.id)
        .subquery("views")
    )
    rows = session.execute(
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.owner,
            Lead.stage,
            func.coalesce(views.c.pageviews, 0),
            func.coalesce(views.c.visits, 0),
            func.coalesce(views.c.pages_read, 0),
            views.c.first_seen,
            views.c.last_seen,
        )
        .outerjoin(views, views.c.lead_id == Lead.id)
        .where(*identified(site), Lead.account_id == account_id)
        .order_by(
            case((views.c.last_seen.is_(None), 1), else_=0),
            views.c.last_seen.desc(),
            Lead.id,
        )
    ).all()
    recent = _recent_titles(session, site, account_id)
    return [Person(*row, recent.get(row[0], [])) for row in rows]


def _recent_titles(session: Session, site: int, account_id: int):
    """Per lead, the titles of the items it viewed last (newest first)."""
    last = func.max(PageView.viewed_at)
    stmt = (
        _views(site)
        .add_columns(
            Lead.id, func.coalesce(func.nullif(Content.title, ""), Content.url)
        )
        .where(Lead.account_id == account_id)
        .group_by(Lead.id, Content.id, Content.title, Content.url)
        .order_by(Lead.id, last.desc(), Content.id)
    )
    out: dict[int, list[str]] = {}
    for lead_id, title in session.execute(stmt):
        titles = out.setdefault(lead_id, [])
        if len(titles) < RECENT_TITLES:
            titles.append(title)
    return out


def account_content(
    session: Session,
    site: int,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
) -> list[ContentRead]:
    """What the account's people viewed in the period, per content item: most
    people first, then most readers, views and active time."""
    people = func.count(func.distinct(Lead.id))
    readers = func.count(func.distinct(case((page_read(), Lead.id))))
    views = func.count(PageView.id)
    active = func.coalesce(func.sum(PageView.active_ms), 0)
    stmt = (
        _views(site)
        .add_columns(
            Content.id,
            func.coalesce(func.nullif(Content.title, ""), Content.url),
            Content.url,
            people,
            readers,
            views,
            active,
        )
        .where(
            Lead.account_id == account_id,
            *in_period(PageView.viewed_at, since, until),
        )
        .group_by(Content.id, Content.title, Content.url)
        .order_by(
            people.desc(), readers.desc(), views.desc(), active.desc(), Content.id
        )
    )
    return [
        ContentRead(cid, title, url, p, r, v, round(int(ms) / 1000, 1))
        for cid, title, url, p, r, v, ms in session.execute(stmt)
    ]


def account_suggestions(
    session: Session,
    site: int,
    account_id: int,
    limit: int = SUGGESTIONS,
    conversion: bool = False,
) -> list[Suggestion]:
    """Content that leads who reached sales read before reaching sales, ranked by
    influence as for one prospect, that nobody of the account has viewed."""
    seen = frozenset(
        session.scalars(
            _views(site)
            .add_columns(PageView.content_id)
            .where(Lead.account_id == account_id)
            .distinct()
        )
    )
    report = content_influence(session, site, conversion=conversion)
    return suggestions_from(report, limit, seen)


def account_report(
    session: Session,
    site: int,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
    conversion: bool = False,
) -> AccountReport | None:
    """The account page's data; None when the site has no such account with
    people."""
    found = account_list(session, site, account_id=account_id)
    if not found:
        return None
    return AccountReport(
        found[0],
        since,
        until,
        _people(session, site, account_id),
        account_content(session, site, account_id, since, until),
        account_suggestions(session, site, account_id, conversion=conversion),
        conversion,
    )


@dataclass(frozen=True)
class ReadingRow:
    """One person and one content item of the account in the period (CSV)."""

    lead_id: int
    email: str | None
    name: str | None
    content_id: int
    title: str
    url: str
    views: int
    read: bool
    active_s: float
    last_viewed_at: datetime


def account_reading(
    session: Session,
    site: int,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
) -> list[ReadingRow]:
    """Each person's reading of each item in the period: the account's CSV."""
    last = func.max(PageView.viewed_at)
    read = func.max(case((page_read(), 1), else_=0))
    stmt = (
        _views(site)
        .add_columns(
            Lead.id,
            Lead.email,
            Lead.name,
            Content.id,
            func.coalesce(func.nullif(Content.title, ""), Content.url),
            Content.url,
            func.count(PageView.id),
            read,
            func.coalesce(func.sum(PageView.active_ms), 0),
            last,
        )
        .where(
            Lead.account_id == account_id,
            *in_period(PageView.viewed_at, since, until),
        )
        .group_by(
            Lead.id, Lead.email, Lead.name, Content.id, Content.title, Content.url
        )
        .order_by(last.desc(), Lead.id, Content.id)
    )
    return [
        ReadingRow(lid, em, nm, cid, t, u, v, bool(r), round(int(ms) / 1000, 1), at)
        for lid, em, nm, cid, t, u, v, r, ms, at in session.execute(stmt)
    ]
