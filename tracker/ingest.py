"""Ingest: the one place that writes events.

Owns: turning a validated beacon into rows: the site check, bots apart, visitor,
session, content item, page view, clicks, scroll, sections, attention and identify.
Everything a batch writes happens in the caller's transaction, so a refused batch
stores nothing; the caller commits before answering 2xx.

Idempotency, because browsers and our own retry queue re-send: page views, clicks
and identify calls are inserted ``ON CONFLICT DO NOTHING`` on their client event id;
scroll and attention are cumulative and only ever raise a stored maximum.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tracker import sites
from tracker.beacon import (
    AttentionEvent,
    Batch,
    BeaconError,
    ClickEvent,
    IdentifyEvent,
    LayoutEvent,
    PageViewEvent,
    ScrollEvent,
    parse,
)
from tracker.bots import is_bot
from tracker.crm import upsert_lead
from tracker.dialect import greatest, insert
from tracker.identity import (
    is_anonymous,
    link_visitor,
    record_rotation,
    visitor_uid,
)
from tracker.models import (
    BotHit,
    Click,
    Content,
    Identify,
    PageSection,
    PageView,
    Visitor,
    VisitSession,
)
from tracker.urls import (
    BadUrl,
    canonical,
    clean_href,
    clean_referrer,
    clean_url,
    redact,
    url_hash,
    utm,
)

SESSION_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class RequestMeta:
    """Facts of the HTTP request that carried a beacon (the IP is never stored)."""

    ip: str
    user_agent: str
    origin: str | None = None
    privacy_signal: bool = False


def device_class(viewport_width: int) -> str:
    """mobile < 768 ≤ tablet < 1024 ≤ desktop, from the CSS viewport width."""
    if viewport_width < 768:
        return "mobile"
    return "tablet" if viewport_width < 1024 else "desktop"


def ingest(
    session: Session, body: bytes, meta: RequestMeta, now: datetime | None = None
) -> int:
    """Validate and store one beacon body; return the number of events it held.

    Raises :class:`BeaconError` with the 4xx to answer. Does not commit.
    """
    now = now or datetime.now(UTC)
    batch = parse(body, now)
    site = sites.lookup(session, batch.s)
    if site is None:
        raise BeaconError(404, f"unknown site key {batch.s!r}")
    if not site.enabled:
        raise BeaconError(403, "this site is disabled")
    if not site.allows_origin(meta.origin):
        raise BeaconError(403, f"origin {meta.origin!r} is not allowed for this site")
    if is_bot(meta.user_agent):
        record_bot(session, site.id, batch, meta.user_agent, _naive(now))
        return 0
    record(session, site, batch, meta, _naive(now))
    return len(batch.e)


def record_bot(
    session: Session, site_id: int, batch: Batch, user_agent: str, now: datetime
) -> None:
    """Keep one row per bot beacon, apart from visitors."""
    url = next((e.u for e in batch.e if isinstance(e, PageViewEvent)), None)
    session.add(
        BotHit(
            site_id=site_id,
            seen_at=now,
            user_agent=(user_agent or "")[:256],
            url=_clean_or_none(url),
        )
    )


def record(
    session: Session, site: sites.SiteInfo, batch: Batch, meta: RequestMeta, now
) -> None:
    """Write every event of a validated batch of a known site."""
    uid = visitor_uid(
        session,
        site,
        batch.v,
        ip=meta.ip,
        user_agent=meta.user_agent,
        privacy_signal=meta.privacy_signal,
        now=now,
    )
    first_at = min(_at(e.ts, now) for e in batch.e)
    visitor_id = put_visitor(session, site.id, uid, bool(batch.i), first_at, now)
    for index, event in enumerate(batch.e):
        if isinstance(event, PageViewEvent):
            put_pageview(session, site.id, visitor_id, event, index, now)
    pageviews = resolve_pageviews(session, site.id, batch)
    clicks = [e for e in batch.e if isinstance(e, ClickEvent)]
    if clicks:
        put_clicks(session, site.id, clicks, pageviews, now)
    for event in batch.e:
        pv = pageviews[event.p]
        if isinstance(event, ScrollEvent):
            put_scroll(session, pv.id, event)
        elif isinstance(event, LayoutEvent):
            put_layout(session, pv.id, event)
        elif isinstance(event, AttentionEvent):
            put_attention(session, pv.id, event)
        elif isinstance(event, IdentifyEvent) and not is_anonymous(uid):
            lead_id = put_identify(session, site.id, visitor_id, pv.id, event, now)
            if lead_id and batch.o:
                record_rotation(session, site.id, f"c:{batch.o}", lead_id, now)
    touch_sessions(session, batch, pageviews, now)


@dataclass(frozen=True)
class _PageViewRef:
    id: int
    session_id: int
    content_id: int


def put_visitor(
    session: Session,
    site_id: int,
    uid: str,
    internal: bool,
    first_at: datetime,
    now: datetime,
) -> int:
    """The visitor's id, created on first sight; marks it internal when told."""
    session.execute(
        insert(session, Visitor)
        .values(
            site_id=site_id,
            uid=uid,
            is_internal=internal,
            first_seen_at=first_at,
            last_seen_at=now,
        )
        .on_conflict_do_nothing()
    )
    visitor_id = session.scalar(
        select(Visitor.id).where(Visitor.site_id == site_id, Visitor.uid == uid)
    )
    values: dict = {"last_seen_at": now}
    if internal:
        values["is_internal"] = True
    session.execute(update(Visitor).where(Visitor.id == visitor_id).values(**values))
    return visitor_id


def put_pageview(
    session: Session,
    site_id: int,
    visitor_id: int,
    event: PageViewEvent,
    index: int,
    now: datetime,
) -> None:
    """Store a page view (once per event id) under its content item and session."""
    if event.id != event.p:
        raise BeaconError(400, f"e[{index}].p: a page view's p must equal its id")
    exists = session.scalar(
        select(PageView.id).where(
            PageView.site_id == site_id, PageView.event_id == event.id
        )
    )
    if exists:
        return
    try:
        url = clean_url(event.u)
    except BadUrl as exc:
        raise BeaconError(400, f"e[{index}].u: {exc}") from None
    at = _at(event.ts, now)
    title = redact(event.ti)[:1024]
    referrer = clean_referrer(event.r)
    tags = utm(url)
    device = device_class(event.vw)
    content_id = put_content(session, site_id, url, title, at)
    session_id = put_session(
        session, site_id, visitor_id, at, url, referrer, tags, device
    )
    session.execute(
        insert(session, PageView)
        .values(
            site_id=site_id,
            event_id=event.id,
            visitor_id=visitor_id,
            session_id=session_id,
            content_id=content_id,
            viewed_at=at,
            url=url,
            title=title,
            referrer=referrer,
            utm_source=tags.get("utm_source"),
            utm_medium=tags.get("utm_medium"),
            utm_campaign=tags.get("utm_campaign"),
            utm_term=tags.get("utm_term"),
            utm_content=tags.get("utm_content"),
            viewport_w=event.vw,
            viewport_h=event.vh,
            doc_h=event.dh,
            device=device,
            max_scroll_px=min(event.vh, event.dh),
            max_scroll_pct=_pct(event.vh, event.dh),
            active_ms=0,
        )
        .on_conflict_do_nothing()
    )


def put_content(
    session: Session, site_id: int, url: str, title: str, at: datetime
) -> int:
    """The content item of a page URL; keeps its latest non-empty title."""
    canon = canonical(url)
    key = url_hash(canon)
    stmt = insert(session, Content).values(
        site_id=site_id, url=canon, url_hash=key, title=title, first_seen_at=at
    )
    if title:
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id", "url_hash"], set_={"title": title}
        )
    else:
        stmt = stmt.on_conflict_do_nothing()
    session.execute(stmt)
    return session.scalar(
        select(Content.id).where(Content.site_id == site_id, Content.url_hash == key)
    )


def put_session(
    session: Session,
    site_id: int,
    visitor_id: int,
    at: datetime,
    url: str,
    referrer: str | None,
    tags: dict[str, str],
    device: str,
) -> int:
    """The visit this page view belongs to: the visitor's latest one unless it has
    been idle for 30 minutes or more, in which case a new one starts here."""
    latest = session.execute(
        select(VisitSession.id, VisitSession.last_seen_at)
        .where(VisitSession.visitor_id == visitor_id)
        .order_by(VisitSession.last_seen_at.desc())
        .limit(1)
    ).first()
    if latest and abs(at - latest.last_seen_at) < SESSION_GAP:
        session.execute(
            update(VisitSession)
            .where(VisitSession.id == latest.id)
            .values(
                pageviews=VisitSession.pageviews + 1,
                last_seen_at=_later(session, VisitSession.last_seen_at, at),
            )
        )
        return latest.id
    visit = VisitSession(
        site_id=site_id,
        visitor_id=visitor_id,
        started_at=at,
        last_seen_at=at,
        landing_url=url,
        referrer=referrer,
        utm_source=tags.get("utm_source"),
        utm_medium=tags.get("utm_medium"),
        utm_campaign=tags.get("utm_campaign"),
        device=device,
        pageviews=1,
    )
    session.add(visit)
    session.flush()
    return visit.id


def resolve_pageviews(
    session: Session, site_id: int, batch: Batch
) -> dict[str, _PageViewRef]:
    """Map every page-view id the batch refers to onto its stored row."""
    wanted = {event.p for event in batch.e}
    rows = session.execute(
        select(
            PageView.event_id, PageView.id, PageView.session_id, PageView.content_id
        ).where(PageView.site_id == site_id, PageView.event_id.in_(wanted))
    )
    found = {
        row.event_id: _PageViewRef(row.id, row.session_id, row.content_id)
        for row in rows
    }
    for index, event in enumerate(batch.e):
        if event.p not in found:
            raise BeaconError(400, f"e[{index}].p: unknown page view {event.p!r}")
    return found


def put_clicks(
    session: Session,
    site_id: int,
    clicks: list[ClickEvent],
    pageviews: dict[str, _PageViewRef],
    now: datetime,
) -> None:
    """Insert the batch's clicks in one statement; re-sent ones are skipped."""
    rows = [
        {
            "site_id": site_id,
            "event_id": c.id,
            "pageview_id": pageviews[c.p].id,
            "content_id": pageviews[c.p].content_id,
            "clicked_at": _at(c.ts, now),
            "x": c.x,
            "y": c.y,
            "viewport_w": c.vw,
            "selector": c.s,
            "fx": c.fx,
            "fy": c.fy,
            "tag": c.tg,
            "text": redact(c.tx)[:60],
            "href": clean_href(c.h),
            "interactive": c.in_,
            "dead": c.dd,
            "error": c.er,
        }
        for c in clicks
    ]
    session.execute(insert(session, Click).values(rows).on_conflict_do_nothing())


def put_scroll(session: Session, pageview_id: int, event: ScrollEvent) -> None:
    """Raise the page view's deepest scroll point, never lower it."""
    session.execute(
        update(PageView)
        .where(PageView.id == pageview_id)
        .values(
            max_scroll_px=_later(session, PageView.max_scroll_px, event.d),
            max_scroll_pct=_later(session, PageView.max_scroll_pct, event.f * 100),
        )
    )


def put_layout(session: Session, pageview_id: int, event: LayoutEvent) -> None:
    """Store the page view's sections (layout fields; attention is kept)."""
    if not event.sec:
        return
    rows = [
        {
            "pageview_id": pageview_id,
            "idx": index,
            "level": level,
            "heading": redact(heading)[:200],
            "top_px": top,
            "height_px": height,
            "active_ms": 0,
        }
        for index, (level, heading, top, height) in enumerate(event.sec)
    ]
    stmt = insert(session, PageSection).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["pageview_id", "idx"],
            set_={
                "level": stmt.excluded.level,
                "heading": stmt.excluded.heading,
                "top_px": stmt.excluded.top_px,
                "height_px": stmt.excluded.height_px,
            },
        )
    )


def put_attention(session: Session, pageview_id: int, event: AttentionEvent) -> None:
    """Raise the page view's and each section's active time to what was sent."""
    session.execute(
        update(PageView)
        .where(PageView.id == pageview_id)
        .values(active_ms=_later(session, PageView.active_ms, event.ms))
    )
    if not event.a:
        return
    totals: dict[int, int] = {}
    for index, ms in event.a:  # a hostile batch may repeat an index
        totals[index] = max(ms, totals.get(index, 0))
    stmt = insert(session, PageSection).values(
        [
            {"pageview_id": pageview_id, "idx": index, "active_ms": ms}
            for index, ms in totals.items()
        ]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["pageview_id", "idx"],
            set_={
                "active_ms": _later(
                    session, PageSection.active_ms, stmt.excluded.active_ms
                )
            },
        )
    )


def put_identify(
    session: Session,
    site_id: int,
    visitor_id: int,
    pageview_id: int,
    event: IdentifyEvent,
    now: datetime,
) -> int | None:
    """Record the identify call once and link the visitor to the lead; the lead's
    id, or None for a replayed call."""
    at = _at(event.ts, now)
    new = session.execute(
        insert(session, Identify)
        .values(
            site_id=site_id,
            event_id=event.id,
            visitor_id=visitor_id,
            pageview_id=pageview_id,
            email=event.em,
            identified_at=at,
        )
        .on_conflict_do_nothing()
        .returning(Identify.id)
    ).first()
    if new is None:
        return None  # a replay: already linked (or already recorded as a conflict)
    # A lead merged by the CRM resolves to the survivor.
    lead_id = upsert_lead(session, site_id, email=event.em, now=at).id
    link_visitor(session, site_id, visitor_id, lead_id, source="snippet", now=at)
    return lead_id


def touch_sessions(
    session: Session, batch: Batch, pageviews: dict[str, _PageViewRef], now: datetime
) -> None:
    """Keep a visit alive while its page views report activity."""
    latest: dict[int, datetime] = defaultdict(lambda: datetime.min)
    for event in batch.e:
        if not isinstance(event, PageViewEvent):
            session_id = pageviews[event.p].session_id
            latest[session_id] = max(latest[session_id], _at(event.ts, now))
    for session_id, at in latest.items():
        session.execute(
            update(VisitSession)
            .where(VisitSession.id == session_id, VisitSession.last_seen_at < at)
            .values(last_seen_at=at)
        )


def _later(session: Session, column, value):
    """SQL for the larger of a column and a value (SQLite ``max``, PG ``greatest``)."""
    return getattr(func, greatest(session))(column, value)


def _at(ts_ms: int, now: datetime) -> datetime:
    """The event's time, naive UTC, never later than ``now`` (clock skew)."""
    at = datetime.fromtimestamp(ts_ms / 1000, UTC).replace(tzinfo=None)
    return min(at, _naive(now))


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _pct(depth: int, height: int) -> float:
    return round(min(depth / height, 1.0) * 100, 1) if height else 0.0


def _clean_or_none(url: str | None) -> str | None:
    try:
        return clean_url(url) if url else None
    except BadUrl:
        return None


__all__ = ["BeaconError", "RequestMeta", "device_class", "ingest", "record"]
