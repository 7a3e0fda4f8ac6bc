"""The weekly digest's content: what one user should hear about last week.

- Marketers (and admins): per site, the content that leads who reached sales
  read that week, and the content whose attention fell against the week before.
- Sales (and admins): per site, their prospects (leads whose CRM owner is the
  user's e-mail or username) active that week with what they read, grouped by
  account where the lead has one.

The week is the 7 days before the run's date, counted midnight to midnight in
each site's time zone. Everything is aggregated in SQL; only the small result
rows are put together here. No Flask: the CLI and the preview page share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.leads import identified
from dashboard.queries.reading import page_read
from dashboard.queries.segments import ContentFilter, filtered_views
from resonance.core.clock import zone as zone_named
from resonance.core.models import (
    Account,
    Content,
    IdentityLink,
    Lead,
    PageView,
    Site,
    User,
    UserSite,
)

WEEK_DAYS = 7
# Content read by sales-reached leads: the top items by readers.
TOP_READ = 10
# Attention fell: an item needs this many page views in each of the two weeks
# (fewer, and one long or short visit decides the average) …
MIN_VIEWS = 5
# … and its average active time per view this week at least this share below
# the week before; the biggest relative falls first.
MIN_FALL = 0.10
TOP_FALLS = 5
# A salesperson's prospects: at most this many, and items per prospect.
TOP_PROSPECTS = 50
TOP_ITEMS = 10


@dataclass(frozen=True)
class Week:
    """Seven days in a site's zone (inclusive) and their bounds in naive UTC."""

    first: date
    last: date
    zone: str
    since: datetime
    until: datetime
    before_since: datetime  # start of the week before, for the comparison


def _midnight(day: date, zone: str) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=zone_named(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def week_before(run_day: date, zone: str | None) -> Week:
    """The 7 days before ``run_day`` in ``zone`` (a Monday run: last Mon–Sun)."""
    zone = zone or "UTC"
    first = run_day - timedelta(days=WEEK_DAYS)
    return Week(
        first=first,
        last=run_day - timedelta(days=1),
        zone=zone,
        since=_midnight(first, zone),
        until=_midnight(run_day, zone),
        before_since=_midnight(first - timedelta(days=WEEK_DAYS), zone),
    )


@dataclass(frozen=True)
class ContentRead:
    """A content item read by leads who reached sales, that week."""

    content_id: int
    title: str
    url: str
    readers: int
    views: int
    active_s: float


@dataclass(frozen=True)
class AttentionFall:
    """A content item held readers for less time per view than the week before."""

    content_id: int
    title: str
    url: str
    views_before: int
    views: int
    avg_active_s_before: float
    avg_active_s: float
    fall_pct: float


@dataclass(frozen=True)
class ItemRead:
    """What a prospect read of one content item that week."""

    content_id: int
    title: str
    url: str
    views: int
    active_s: float
    read: bool


@dataclass(frozen=True)
class ProspectWeek:
    """One of the user's prospects, active that week."""

    lead_id: int
    email: str | None
    name: str | None
    company: str | None
    stage: str | None
    account_id: int | None
    account: str | None
    views: int
    active_s: float
    last_seen_at: datetime
    items: list[ItemRead]


@dataclass(frozen=True)
class AccountWeek:
    """An account with at least one of the user's prospects active that week."""

    account_id: int
    name: str
    people: int
    views: int
    active_s: float


@dataclass(frozen=True)
class SiteDigest:
    """One site's part of a digest (lists empty when the role gets no such part)."""

    site_key: str
    site_name: str
    week: Week
    sales_reads: list[ContentRead] = field(default_factory=list)
    falls: list[AttentionFall] = field(default_factory=list)
    prospects: list[ProspectWeek] = field(default_factory=list)
    accounts: list[AccountWeek] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.sales_reads or self.falls or self.prospects)


@dataclass(frozen=True)
class Digest:
    """Everything one user's digest says, for one run date."""

    user_id: int
    username: str
    email: str | None
    role: str
    run_day: date
    sites: list[SiteDigest]

    @property
    def empty(self) -> bool:
        """Nothing to read: such a digest is not sent."""
        return all(s.empty for s in self.sites)


def content_part(role: str) -> bool:
    """Marketers and admins hear about content."""
    return role in ("marketer", "admin")


def prospect_part(role: str) -> bool:
    """Sales and admins hear about the prospects they own."""
    return role in ("sales", "admin")


def build_digest(session: Session, user: User, run_day: date) -> Digest:
    """``user``'s digest for the week before ``run_day``, over every site they
    may see (an admin: every site), by site key."""
    query = select(Site.id, Site.key, Site.name, Site.timezone).order_by(Site.key)
    if user.role != "admin":  # as resonance.auth.users.site_keys decides
        query = query.join(UserSite, UserSite.site_id == Site.id).where(
            UserSite.user_id == user.id
        )
    sites = session.execute(query).all()
    owners = sorted({n.lower() for n in (user.email, user.username) if n})
    parts = []
    for site_id, key, name, zone in sites:
        week = week_before(run_day, zone)
        part = SiteDigest(key, name, week)
        if content_part(user.role):
            part.sales_reads.extend(sales_reads(session, key, week))
            part.falls.extend(attention_falls(session, key, week))
        if prospect_part(user.role):
            part.prospects.extend(prospects_active(session, site_id, owners, week))
            part.accounts.extend(accounts_of(part.prospects))
        parts.append(part)
    return Digest(user.id, user.username, user.email, user.role, run_day, parts)


def _title():
    return func.coalesce(func.nullif(Content.title, ""), Content.url)


def sales_reads(session: Session, site_key: str, week: Week) -> list[ContentRead]:
    """Content that leads who reached sales read that week (the ``sales``
    segment, internal traffic left out): readers (distinct leads), page views
    and active time; most readers first."""
    flt = ContentFilter(
        site_key, week.since, week.until, segment="sales", exclude_internal=True
    )
    views = filtered_views(session, flt)
    readers = func.count(func.distinct(IdentityLink.lead_id))
    active = func.sum(views.c.active_ms)
    rows = session.execute(
        select(
            Content.id,
            _title(),
            Content.url,
            readers,
            func.count(views.c.id),
            active,
        )
        .join(Content, Content.id == views.c.content_id)
        .join(IdentityLink, IdentityLink.visitor_id == views.c.visitor_id)
        .group_by(Content.id, Content.title, Content.url)
        .order_by(readers.desc(), active.desc(), Content.url)
        .limit(TOP_READ)
    )
    return [
        ContentRead(cid, title, url, n, views_n, round((ms or 0) / 1000, 1))
        for cid, title, url, n, views_n, ms in rows
    ]


def attention_falls(session: Session, site_key: str, week: Week) -> list[AttentionFall]:
    """Content whose average active time per view fell by at least
    :data:`MIN_FALL` against the week before, among items with at least
    :data:`MIN_VIEWS` page views in each week (everyone, internal traffic left
    out); biggest relative falls first."""
    flt = ContentFilter(site_key, week.before_since, week.until, exclude_internal=True)
    views = filtered_views(session, flt)
    now = views.c.viewed_at >= week.since
    n_now = func.sum(case((now, 1), else_=0))
    n_before = func.sum(case((now, 0), else_=1))
    ms_now = func.sum(case((now, views.c.active_ms), else_=0))
    ms_before = func.sum(case((now, 0), else_=views.c.active_ms))
    # avg_now / avg_before, cross-multiplied so that no division by zero occurs
    # before HAVING has kept only items with views and attention in both weeks.
    ratio = (cast(ms_now, Float) * n_before) / (cast(ms_before, Float) * n_now)
    rows = session.execute(
        select(Content.id, _title(), Content.url, n_before, n_now, ms_before, ms_now)
        .join(Content, Content.id == views.c.content_id)
        .group_by(Content.id, Content.title, Content.url)
        .having(
            n_now >= MIN_VIEWS,
            n_before >= MIN_VIEWS,
            ms_before > 0,
            cast(ms_now, Float) * n_before
            <= cast(ms_before, Float) * n_now * (1 - MIN_FALL),
        )
        .order_by(ratio, Content.url)
        .limit(TOP_FALLS)
    )
    falls = []
    for cid, title, url, nb, nn, mb, mn in rows:
        before, after = mb / nb / 1000, mn / nn / 1000
        falls.append(
            AttentionFall(
                cid,
                title,
                url,
                nb,
                nn,
                round(before, 1),
                round(after, 1),
                round((1 - after / before) * 100, 1),
            )
        )
    return falls


def prospects_active(
    session: Session, site_id: int, owners: list[str], week: Week
) -> list[ProspectWeek]:
    """The site's leads owned by one of ``owners`` (compared without case) with
    page views that week, and per lead what they read (views and active time
    per item, read when at least one view counts as read: reading.py's rule);
    most recently active first."""
    if not owners:
        return []
    active = func.sum(PageView.active_ms)
    rows = session.execute(
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.stage,
            Lead.account_id,
            Account.name,
            Content.id,
            _title(),
            Content.url,
            func.count(PageView.id),
            active,
            func.max(case((page_read(), 1), else_=0)),
            func.max(PageView.viewed_at),
        )
        .join(IdentityLink, IdentityLink.lead_id == Lead.id)
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .outerjoin(Account, Account.id == Lead.account_id)
        .where(
            *identified(site_id),
            func.lower(Lead.owner).in_(owners),
            PageView.site_id == site_id,
            PageView.viewed_at >= week.since,
            PageView.viewed_at < week.until,
        )
        .group_by(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.stage,
            Lead.account_id,
            Account.name,
            Content.id,
            Content.title,
            Content.url,
        )
        .order_by(Lead.id, active.desc(), Content.url)
    ).all()
    by_lead: dict[int, list] = {}
    for row in rows:
        by_lead.setdefault(row[0], []).append(row)
    prospects = []
    for lead_rows in by_lead.values():
        first = lead_rows[0]
        items = [
            ItemRead(
                r[7], r[8], r[9], r[10], round((r[11] or 0) / 1000, 1), bool(r[12])
            )
            for r in lead_rows
        ]
        prospects.append(
            ProspectWeek(
                *first[:7],
                views=sum(r[10] for r in lead_rows),
                active_s=round(sum(r[11] or 0 for r in lead_rows) / 1000, 1),
                last_seen_at=max(r[13] for r in lead_rows),
                items=items[:TOP_ITEMS],
            )
        )
    prospects.sort(key=lambda p: (p.last_seen_at, p.lead_id), reverse=True)
    return prospects[:TOP_PROSPECTS]


def accounts_of(prospects: list[ProspectWeek]) -> list[AccountWeek]:
    """The accounts of ``prospects`` (already aggregated rows: a roll-up of at
    most :data:`TOP_PROSPECTS`), most people first."""
    grouped: dict[int, list[ProspectWeek]] = {}
    for p in prospects:
        if p.account_id is not None:
            grouped.setdefault(p.account_id, []).append(p)
    accounts = [
        AccountWeek(
            account_id,
            people[0].account or "",
            len(people),
            sum(p.views for p in people),
            round(sum(p.active_s for p in people), 1),
        )
        for account_id, people in grouped.items()
    ]
    return sorted(accounts, key=lambda a: (-a.people, -a.views, a.name))
