"""Read queries of the sales pages: prospects, what they read, content influence.

Owns: finding prospects, one prospect's reading history (visits, page views, the
sections that held them, the links they clicked), what they already know, the
notes sales left about them, and the influence of each content item on leads that
reached sales (readers, conversion, lift, median days, first/last/linear
attribution). SQL in, frozen dataclasses out; every aggregate is computed in SQL
(GROUP BY, window functions) on SQLite and PostgreSQL alike. Python only shapes
aggregated rows or the one prospect's page views into nested lists.

Identity model: page views point at visitors; ``IdentityLink`` ties a visitor to a
lead, so a lead's history is the page views of every visitor linked to it (one per
browser). A merged lead (``merged_into_id`` set) has had its links moved to the
survivor and is left out of searches and figures.

Must not import: Flask, plotly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import (
    BigInteger,
    Float,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from dashboard.queries import group_matches
from dashboard.sql import median
from resonance.core import dialect
from resonance.core.models import (
    Click,
    Content,
    ContentGroup,
    IdentityLink,
    Lead,
    Note,
    PageSection,
    PageView,
    Site,
    VisitSession,
)

# --- read or skimmed -------------------------------------------------------------

WORDS_PER_MINUTE = 230
# Read: active for at least this share of the expected reading time …
READ_SHARE_OF_EXPECTED = 0.5
# … or, when the page's length is unknown, scrolled this far and active this long.
FALLBACK_SCROLL_PCT = 75
FALLBACK_ACTIVE_MS = 30_000

READ_RULE = (
    "A page view counts as read when the reader was active for at least half the "
    f"expected reading time (the page's words ÷ {WORDS_PER_MINUTE} per minute, "
    "from the content catalog). When the page's length is not known, it counts as "
    f"read when scrolled at least {FALLBACK_SCROLL_PCT} % with at least "
    f"{FALLBACK_ACTIVE_MS // 1000} s active. Anything less is skimmed."
)

TOP_SECTIONS = 3
MAX_HISTORY_VIEWS = 500
SEARCH_LIMIT = 200
SUGGESTIONS = 5


def read_condition(words, active_ms, scroll_pct):
    """SQL that is true when a page view counts as read (see :data:`READ_RULE`).

    Compared in whole milliseconds, as ``active_ms · 230 ≥ words · 30 000``, so
    that no rounding decides a borderline case; BIGINT because 24 h of active time
    times 230 overflows PostgreSQL's INTEGER.
    """
    ms_per_word_share = round(60_000 * READ_SHARE_OF_EXPECTED)
    by_words = and_(
        words > 0,
        cast(active_ms, BigInteger) * WORDS_PER_MINUTE
        >= cast(words, BigInteger) * ms_per_word_share,
    )
    by_scroll = and_(
        or_(words.is_(None), words <= 0),
        scroll_pct >= FALLBACK_SCROLL_PCT,
        active_ms >= FALLBACK_ACTIVE_MS,
    )
    return or_(by_words, by_scroll)


def expected_seconds(words: int | None) -> float | None:
    """Expected reading time of a page of ``words`` words, when known."""
    if not words or words <= 0:
        return None
    return round(words / WORDS_PER_MINUTE * 60, 1)


def _page_read():
    """:func:`read_condition` for a row of ``PageView`` joined to ``Content``."""
    return read_condition(Content.words, PageView.active_ms, PageView.max_scroll_pct)


def days_between(session: Session, later, earlier):
    """SQL for the (fractional) days from ``earlier`` to ``later``: the one place
    that knows SQLite and PostgreSQL subtract timestamps differently."""
    if dialect.name(session) == "postgresql":
        return extract("epoch", later - earlier) / 86_400
    return func.julianday(later) - func.julianday(earlier)


# --- the site ----------------------------------------------------------------------


def site_id(session: Session, site_key: str) -> int | None:
    """The id of the site with ``site_key``, or None."""
    return session.scalar(select(Site.id).where(Site.key == site_key))


def _identified(site: int):
    """WHERE clauses for a lead of the site that was not merged into another."""
    return (Lead.site_id == site, Lead.merged_into_id.is_(None))


def _of_lead(site: int, lead_id: int):
    """WHERE clauses for the identity links of a lead of the site.

    The site is checked once on the lead (a primary-key lookup), not on every
    page view: the collector links a visitor only to a lead of its own site, so
    the lead's page views are the site's anyway. Without a page-view condition
    the planner reaches them through the lead's visitors (index on
    ``visitor_id``) instead of scanning the whole site's page views, which
    SQLite, without statistics, did: 10× slower at 1 M events.
    """
    owner = select(Lead.site_id).where(Lead.id == lead_id).scalar_subquery()
    return (IdentityLink.lead_id == lead_id, owner == site)


def _lead_page_views(site: int, lead_id: int):
    """The ids of every page view of the visitors linked to a lead."""
    return (
        select(PageView.id)
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .where(*_of_lead(site, lead_id))
    )


# --- prospect search -------------------------------------------------------------


@dataclass(frozen=True)
class ProspectRow:
    """One lead in the search results, with how much it has read."""

    lead_id: int
    email: str | None
    name: str | None
    company: str | None
    owner: str | None
    stage: str | None
    reached_sales_at: datetime | None
    pageviews: int
    content_items: int
    items_read: int
    last_seen_at: datetime | None


def search_prospects(
    session: Session, site: int, query: str | None, limit: int = SEARCH_LIMIT
) -> list[ProspectRow]:
    """Leads whose e-mail, name or company contains ``query`` (any case), most
    recently active first; leads that never read anything come last.

    The user's text is a bound parameter with ``%``, ``_`` and the escape
    character escaped, so "%" finds a literal percent sign, not everyone.
    """
    stats = (
        select(
            IdentityLink.lead_id,
            func.count(PageView.id).label("pageviews"),
            func.count(func.distinct(PageView.content_id)).label("content_items"),
            func.count(func.distinct(case((_page_read(), PageView.content_id)))).label(
                "items_read"
            ),
            func.max(PageView.viewed_at).label("last_seen"),
        )
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .where(PageView.site_id == site)
        .group_by(IdentityLink.lead_id)
        .subquery("stats")
    )
    stmt = (
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.owner,
            Lead.stage,
            Lead.reached_sales_at,
            func.coalesce(stats.c.pageviews, 0),
            func.coalesce(stats.c.content_items, 0),
            func.coalesce(stats.c.items_read, 0),
            stats.c.last_seen,
        )
        .outerjoin(stats, stats.c.lead_id == Lead.id)
        .where(*_identified(site))
        .order_by(
            case((stats.c.last_seen.is_(None), 1), else_=0),
            stats.c.last_seen.desc(),
            Lead.id.desc(),
        )
        .limit(limit)
    )
    if needle := (query or "").strip().lower():
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Lead.email, Lead.name, Lead.company)
                )
            )
        )
    return [ProspectRow(*row) for row in session.execute(stmt)]


# --- one prospect ------------------------------------------------------------------


@dataclass(frozen=True)
class Prospect:
    """Who the prospect is, as the CRM and the snippet know them."""

    lead_id: int
    email: str | None
    name: str | None
    company: str | None
    owner: str | None
    stage: str | None
    stage_raw: str | None
    reached_sales_at: datetime | None
    created_at: datetime
    merged_into_id: int | None
    visitors: int
    pageviews: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None


def prospect(session: Session, site: int, lead_id: int) -> Prospect | None:
    """The site's lead ``lead_id`` with its visitor and page-view counts, or None
    when it does not exist or belongs to another site."""
    lead = session.execute(
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.owner,
            Lead.stage,
            Lead.stage_raw,
            Lead.reached_sales_at,
            Lead.created_at,
            Lead.merged_into_id,
        ).where(Lead.id == lead_id, Lead.site_id == site)
    ).first()
    if lead is None:
        return None
    views = session.execute(
        select(
            func.count(func.distinct(PageView.visitor_id)),
            func.count(PageView.id),
            func.min(PageView.viewed_at),
            func.max(PageView.viewed_at),
        ).where(PageView.id.in_(_lead_page_views(site, lead_id)))
    ).one()
    return Prospect(*lead, *views)


@dataclass(frozen=True)
class SectionAttention:
    """A section of a page view and the active time it held the reader."""

    heading: str
    active_s: float


@dataclass(frozen=True)
class LinkClick:
    """A click on a link or a button (an interactive element)."""

    clicked_at: datetime
    tag: str
    text: str
    href: str | None


@dataclass(frozen=True)
class Reading:
    """One page view of a content item by the prospect."""

    pageview_id: int
    content_id: int
    title: str
    url: str
    viewed_at: datetime
    active_s: float
    scroll_pct: float
    expected_s: float | None
    read: bool
    verdict: str
    top_sections: list[SectionAttention]
    clicks: list[LinkClick]


@dataclass(frozen=True)
class Visit:
    """A visit (session) of one of the prospect's browsers, newest reading first."""

    session_id: int
    started_at: datetime
    last_seen_at: datetime
    device: str
    landing_url: str
    referrer: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    readings: list[Reading]


def reading_history(
    session: Session, site: int, lead_id: int, limit: int = MAX_HISTORY_VIEWS
) -> list[Visit]:
    """The prospect's visits, newest first, each with its page views newest first,
    their top sections by attention and their clicks on links and buttons.

    At most ``limit`` page views (the newest); three queries whatever the count.
    """
    read = _page_read()
    rows = session.execute(
        select(
            PageView.id,
            PageView.content_id,
            func.coalesce(func.nullif(Content.title, ""), PageView.title),
            Content.url,
            PageView.viewed_at,
            PageView.active_ms,
            PageView.max_scroll_pct,
            Content.words,
            case((read, 1), else_=0),
            VisitSession.id,
            VisitSession.started_at,
            VisitSession.last_seen_at,
            VisitSession.device,
            VisitSession.landing_url,
            VisitSession.referrer,
            VisitSession.utm_source,
            VisitSession.utm_medium,
            VisitSession.utm_campaign,
        )
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .join(VisitSession, VisitSession.id == PageView.session_id)
        .where(*_of_lead(site, lead_id))
        .order_by(
            VisitSession.started_at.desc(),
            VisitSession.id.desc(),
            PageView.viewed_at.desc(),
            PageView.id.desc(),
        )
        .limit(limit)
    ).all()
    sections = _top_sections(session, site, lead_id)
    clicks = _link_clicks(session, site, lead_id)
    visits: list[Visit] = []
    for row in rows:
        if not visits or visits[-1].session_id != row[9]:
            visits.append(Visit(*row[9:], readings=[]))
        visits[-1].readings.append(
            Reading(
                pageview_id=row[0],
                content_id=row[1],
                title=row[2] or "",
                url=row[3],
                viewed_at=row[4],
                active_s=round(row[5] / 1000, 1),
                scroll_pct=round(float(row[6]), 1),
                expected_s=expected_seconds(row[7]),
                read=bool(row[8]),
                verdict="read" if row[8] else "skimmed",
                top_sections=sections.get(row[0], []),
                clicks=clicks.get(row[0], []),
            )
        )
    return visits


def _top_sections(
    session: Session, site: int, lead_id: int
) -> dict[int, list[SectionAttention]]:
    """The sections that held each of the lead's page views longest (top 3, by a
    ROW_NUMBER window per page view)."""
    ranked = (
        select(
            PageSection.pageview_id,
            PageSection.idx,
            PageSection.heading,
            PageSection.active_ms,
            func.row_number()
            .over(
                partition_by=PageSection.pageview_id,
                order_by=(PageSection.active_ms.desc(), PageSection.idx),
            )
            .label("rn"),
        )
        .where(
            PageSection.pageview_id.in_(_lead_page_views(site, lead_id)),
            PageSection.active_ms > 0,
        )
        .subquery("ranked")
    )
    r = ranked.c
    rows = session.execute(
        select(r.pageview_id, r.idx, r.heading, r.active_ms)
        .where(r.rn <= TOP_SECTIONS)
        .order_by(r.pageview_id, r.rn)
    )
    result: dict[int, list[SectionAttention]] = {}
    for pageview_id, idx, heading, active_ms in rows:
        result.setdefault(pageview_id, []).append(
            SectionAttention(
                heading or f"(section {idx + 1})", round(active_ms / 1000, 1)
            )
        )
    return result


def _link_clicks(
    session: Session, site: int, lead_id: int
) -> dict[int, list[LinkClick]]:
    """Clicks on links and buttons in each of the lead's page views, in order."""
    rows = session.execute(
        select(Click.pageview_id, Click.clicked_at, Click.tag, Click.text, Click.href)
        .where(
            Click.pageview_id.in_(_lead_page_views(site, lead_id)),
            Click.interactive.is_(True),
        )
        .order_by(Click.pageview_id, Click.clicked_at, Click.id)
    )
    result: dict[int, list[LinkClick]] = {}
    for pageview_id, *click in rows:
        result.setdefault(pageview_id, []).append(LinkClick(*click))
    return result


# --- what they already know ----------------------------------------------------------


@dataclass(frozen=True)
class KnownItem:
    """A content item the prospect read thoroughly at least once."""

    content_id: int
    title: str
    url: str
    reads: int
    active_s: float


@dataclass(frozen=True)
class Topic:
    """Content read thoroughly under one topic: a content group's name, or else
    the first segment of the path (``/blog``, ``/pricing``)."""

    topic: str
    active_s: float
    items: list[KnownItem]


def known_topics(session: Session, site: int, lead_id: int) -> list[Topic]:
    """What the prospect already knows: thorough reads per content item (SQL),
    grouped by topic; topics with the most active time first."""
    active = func.sum(PageView.active_ms)
    rows = session.execute(
        select(
            Content.id,
            Content.title,
            Content.url,
            func.count(PageView.id),
            active,
        )
        .join(PageView, PageView.content_id == Content.id)
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .where(*_of_lead(site, lead_id), _page_read())
        .group_by(Content.id, Content.title, Content.url)
        .order_by(active.desc(), Content.url)
    ).all()
    rules = session.execute(
        select(ContentGroup.name, ContentGroup.pattern)
        .where(ContentGroup.site_id == site)
        .order_by(ContentGroup.id)
    ).all()
    topics: dict[str, list[KnownItem]] = {}
    for content_id, title, url, reads, active_ms in rows:
        active_s = round(active_ms / 1000, 1)
        item = KnownItem(content_id, title or url, url, reads, active_s)
        topics.setdefault(topic_of(url, rules), []).append(item)
    result = [
        Topic(name, round(sum(i.active_s for i in items), 1), items)
        for name, items in topics.items()
    ]
    return sorted(result, key=lambda t: (-t.active_s, t.topic))


def topic_of(url: str, rules: list[tuple[str, str]]) -> str:
    """The topic of a content URL: the name of the first content-group rule
    (``name, pattern``) that matches it, else its first path segment."""
    for name, pattern in rules:
        if group_matches(pattern, url):
            return name
    segment = (urlsplit(url).path or "/").lstrip("/").split("/", 1)[0]
    return "/" + segment


# --- notes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteRow:
    """A note sales left about the prospect and a content item."""

    note_id: int
    created_at: datetime
    author: str
    section: str | None
    body: str


@dataclass(frozen=True)
class NotedContent:
    """A content item the prospect viewed, the headings seen in it (for the note
    form) and the notes about this prospect and it, newest first."""

    content_id: int
    title: str
    url: str
    headings: list[str]
    notes: list[NoteRow]


def prospect_notes(session: Session, site: int, lead_id: int) -> list[NotedContent]:
    """Every content item the prospect viewed, most recently viewed first, with
    the notes about it and the prospect."""
    last_seen = func.max(PageView.viewed_at)
    items = session.execute(
        select(Content.id, Content.title, Content.url)
        .join(PageView, PageView.content_id == Content.id)
        .where(PageView.id.in_(_lead_page_views(site, lead_id)))
        .group_by(Content.id, Content.title, Content.url)
        .order_by(last_seen.desc(), Content.id)
    ).all()
    headings = session.execute(
        select(PageView.content_id, PageSection.heading)
        .join(PageView, PageView.id == PageSection.pageview_id)
        .where(
            PageSection.pageview_id.in_(_lead_page_views(site, lead_id)),
            PageSection.heading.is_not(None),
        )
        .group_by(PageView.content_id, PageSection.heading)
        .order_by(PageView.content_id, func.min(PageSection.idx), PageSection.heading)
    ).all()
    notes = session.execute(
        select(
            Note.content_id,
            Note.id,
            Note.created_at,
            Note.author,
            Note.section,
            Note.body,
        )
        .where(Note.site_id == site, Note.lead_id == lead_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    ).all()
    by_content: dict[int, list[NoteRow]] = {}
    for content_id, *note in notes:
        by_content.setdefault(content_id, []).append(NoteRow(*note))
    heads: dict[int, list[str]] = {}
    for content_id, heading in headings:
        heads.setdefault(content_id, []).append(heading)
    return [
        NotedContent(
            cid, title or url, url, heads.get(cid, []), by_content.get(cid, [])
        )
        for cid, title, url in items
    ]


# --- content influence ------------------------------------------------------------


@dataclass(frozen=True)
class InfluenceRow:
    """How a content item relates to leads reaching sales.

    ``readers``: identified leads with a page view of it. ``readers_before_sales``:
    those whose first view came before they reached sales. ``conversion_rate``:
    readers_before_sales ÷ readers (a reader who had already reached sales was not
    converted after reading it). ``lift``: conversion_rate ÷ the site's baseline.
    ``median_days``: from a lead's first view of it to reaching sales, over the
    readers before sales. ``first_touch``/``last_touch``/``linear``: credit from
    the leads that reached sales, whose touches are the distinct items they read
    before reaching sales, in the order of their first view.
    """

    content_id: int
    title: str
    url: str
    readers: int
    readers_before_sales: int
    conversion_rate: float
    lift: float | None
    median_days: float | None
    first_touch: int
    last_touch: int
    linear: float


@dataclass(frozen=True)
class InfluenceReport:
    """The influence table and the baseline it is compared with."""

    since: datetime | None
    until: datetime | None
    sort: str
    leads: int
    reached_sales: int
    baseline: float | None
    rows: list[InfluenceRow]


def _influence_key(row: InfluenceRow):
    return (-row.linear, -row.readers_before_sales, -(row.lift or 0), row.title)


# Sort orders of the influence table; "influence" also ranks suggested reads.
SORTS = {
    "influence": _influence_key,
    "readers": lambda r: (-r.readers, _influence_key(r)),
    "before_sales": lambda r: (-r.readers_before_sales, _influence_key(r)),
    "rate": lambda r: (-r.conversion_rate, _influence_key(r)),
    "lift": lambda r: (-(r.lift or 0), _influence_key(r)),
    "median_days": lambda r: (
        r.median_days is None,
        r.median_days or 0,
        _influence_key(r),
    ),
    "first_touch": lambda r: (-r.first_touch, _influence_key(r)),
    "last_touch": lambda r: (-r.last_touch, _influence_key(r)),
    "linear": lambda r: (-r.linear, _influence_key(r)),
    "title": lambda r: (r.title.lower(), r.url),
}


def _first_reads(site: int, since: datetime | None, until: datetime | None):
    """One row per (identified lead, content item) read in the period: the first
    view's time and when the lead reached sales (NULL if it has not).

    Driven from the site's leads through their visitors' page views (the site is
    checked on the lead, see :func:`_of_lead`), never by scanning the site's
    page views, most of which are anonymous."""
    stmt = (
        select(
            IdentityLink.lead_id,
            PageView.content_id,
            Lead.reached_sales_at.label("reached_at"),
            func.min(PageView.viewed_at).label("first_at"),
        )
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .join(Lead, Lead.id == IdentityLink.lead_id)
        .where(*_identified(site))
        .group_by(IdentityLink.lead_id, PageView.content_id, Lead.reached_sales_at)
    )
    if since:
        stmt = stmt.where(PageView.viewed_at >= since)
    if until:
        stmt = stmt.where(PageView.viewed_at < until)
    # A CTE: the influence query reads it three times and both databases
    # materialise a CTE used more than once, so it is computed once.
    return stmt.cte("firsts")


def content_influence(
    session: Session,
    site: int,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str = "influence",
    unread_by: int | None = None,
) -> InfluenceReport:
    """Per content item read by identified leads in the period: readers, readers
    before sales, conversion vs the baseline, median days to sales, and
    first/last/linear attribution, all aggregated in SQL.

    ``unread_by``: only items that lead never viewed (suggested next reads).
    Raises ValueError for an unknown ``sort``.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    firsts = _first_reads(site, since, until)
    f = firsts.c
    before = and_(f.reached_at.is_not(None), f.first_at < f.reached_at)
    leads, reached = session.execute(
        select(
            func.count(func.distinct(f.lead_id)),
            func.count(func.distinct(case((f.reached_at.is_not(None), f.lead_id)))),
        )
    ).one()
    per = (
        select(
            f.content_id,
            func.count().label("readers"),
            func.sum(case((before, 1), else_=0)).label("before"),
        )
        .group_by(f.content_id)
        .subquery("per")
    )
    median_days = _median_days(session, firsts, before)
    attribution = _attribution(firsts, before)
    stmt = (
        select(
            Content.id,
            func.coalesce(func.nullif(Content.title, ""), Content.url),
            Content.url,
            per.c.readers,
            per.c.before,
            median_days.c.median,
            func.coalesce(attribution.c.first_touch, 0),
            func.coalesce(attribution.c.last_touch, 0),
            func.coalesce(attribution.c.linear, 0),
        )
        .join(per, per.c.content_id == Content.id)
        .outerjoin(median_days, median_days.c.item == Content.id)
        .outerjoin(attribution, attribution.c.content_id == Content.id)
    )
    if unread_by is not None:
        seen = select(PageView.content_id).where(
            PageView.id.in_(_lead_page_views(site, unread_by))
        )
        stmt = stmt.where(Content.id.not_in(seen))
    rows = [_influence_row(row, leads, reached) for row in session.execute(stmt).all()]
    rows.sort(key=SORTS[sort])
    baseline = round(reached / leads, 4) if leads else None
    return InfluenceReport(since, until, sort, leads, reached, baseline, rows)


def _influence_row(row, leads: int, reached: int) -> InfluenceRow:
    """An aggregated row as a dataclass; ratios from the exact integer counts."""
    cid, title, url, readers, before, days, first, last, linear = row
    before = int(before)
    return InfluenceRow(
        content_id=cid,
        title=title,
        url=url,
        readers=readers,
        readers_before_sales=before,
        conversion_rate=round(before / readers, 4),
        lift=round(before * leads / (readers * reached), 4) if reached else None,
        median_days=round(float(days), 2) if days is not None else None,
        first_touch=int(first),
        last_touch=int(last),
        linear=round(float(linear), 4),
    )


def _median_days(session: Session, firsts, before):
    """Per content item, the median days from a lead's first view to reaching
    sales, over the readers before sales (columns ``item`` and ``median``)."""
    f = firsts.c
    days = (
        select(
            f.content_id,
            days_between(session, f.reached_at, f.first_at).label("days"),
        )
        .where(before)
        .subquery("days")
    )
    return median(days, "days", "content_id")


def _attribution(firsts, before):
    """First-touch, last-touch and linear credit per content item from the leads
    that reached sales: their touches (distinct items first viewed before reaching
    sales) numbered by ROW_NUMBER in the order of the first view, and counted by
    COUNT OVER the lead; 1 to touch 1, 1 to touch n, 1/n to each."""
    f = firsts.c
    touches = (
        select(
            f.lead_id,
            f.content_id,
            func.row_number()
            .over(partition_by=f.lead_id, order_by=(f.first_at, f.content_id))
            .label("rn"),
            func.count().over(partition_by=f.lead_id).label("n"),
        )
        .where(before)
        .subquery("touches")
    )
    t = touches.c
    return (
        select(
            t.content_id,
            func.sum(case((t.rn == 1, 1), else_=0)).label("first_touch"),
            func.sum(case((t.rn == t.n, 1), else_=0)).label("last_touch"),
            func.sum(literal(1.0, Float) / t.n).label("linear"),
        )
        .group_by(t.content_id)
        .subquery("attribution")
    )


@dataclass(frozen=True)
class Suggestion:
    """A content item worth sending next: leads read it before reaching sales,
    and this prospect has not read it."""

    content_id: int
    title: str
    url: str
    readers_before_sales: int
    lift: float | None
    linear: float


def suggested_reads(
    session: Session, site: int, lead_id: int, limit: int = SUGGESTIONS
) -> list[Suggestion]:
    """Content that leads who reached sales read before reaching sales, ranked by
    influence (linear credit, then readers before sales, then lift), that the
    prospect never viewed."""
    report = content_influence(session, site, unread_by=lead_id)
    return [
        Suggestion(
            r.content_id, r.title, r.url, r.readers_before_sales, r.lift, r.linear
        )
        for r in report.rows
        if r.readers_before_sales > 0
    ][:limit]


# --- the whole prospect page ------------------------------------------------------


@dataclass(frozen=True)
class ProspectReport:
    """Everything the prospect page shows (and its JSON twin)."""

    prospect: Prospect
    read_rule: str
    visits: list[Visit]
    known: list[Topic]
    suggestions: list[Suggestion]
    notes: list[NotedContent]


def prospect_report(session: Session, site: int, lead: Prospect) -> ProspectReport:
    """Run every query of the prospect page."""
    lead_id = lead.lead_id
    return ProspectReport(
        prospect=lead,
        read_rule=READ_RULE,
        visits=reading_history(session, site, lead_id),
        known=known_topics(session, site, lead_id),
        suggestions=suggested_reads(session, site, lead_id),
        notes=prospect_notes(session, site, lead_id),
    )
