"""Ingest: the one place that writes events.

Owns: turning validated beacons into rows: the site check, bots apart, visitor,
session, content item, page view, clicks, scroll, sections, attention and identify.
Everything a call writes happens in the caller's transaction, so a refused batch
stores nothing; the caller commits before answering 2xx.

Idempotency, because browsers and our own retry queue re-send: page views, clicks
and identify calls are inserted ``ON CONFLICT DO NOTHING`` on their client event id;
scroll and attention are cumulative and only ever raise a stored maximum.

Set-based, because the collector's cost is the number of statements, not the rows:
:func:`ingest_many` takes several batches (a group commit, see ``tracker.writer``)
and works in two phases. The *plan* validates every batch in arrival order in
Python (one ``SELECT`` finds the page views they refer to) and folds what each
event does into the rows it touches: a new page view is inserted with its scroll
depth and active time already raised, a section row gets its layout and attention
at once, the 30-minute session rule is replayed in memory. The *write* then stores
the whole group in about ten statements whatever its size, each row set sorted by
key so that two processes lock rows in the same order. A batch refused in the plan
is left out of the write, so it stores nothing and takes no other batch down.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, bindparam, or_, select, union_all, update
from sqlalchemy import func as sqlfunc
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
from tracker.dialect import insert, later
from tracker.dialect import name as dialect_name
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


# --- URL and text hygiene, memoised -------------------------------------------
# Page URLs, referrers, titles and link texts repeat across the page views of the
# same pages, and the hygiene functions are pure: caching them per process saves
# most of their cost (they are the largest Python cost after validation).
_clean_url = lru_cache(maxsize=4096)(clean_url)
_clean_href = lru_cache(maxsize=4096)(clean_href)
_clean_referrer = lru_cache(maxsize=4096)(clean_referrer)
_redact = lru_cache(maxsize=8192)(redact)


@lru_cache(maxsize=4096)
def _page_facts(url: str) -> tuple[str, str, dict[str, str]]:
    """Canonical URL, its hash and the utm tags of a cleaned page URL (read only)."""
    canon = canonical(url)
    return canon, url_hash(canon), utm(url)


# --- public entry points ------------------------------------------------------


def ingest(
    session: Session, body: bytes, meta: RequestMeta, now: datetime | None = None
) -> int:
    """Validate and store one beacon body; return the number of events it held.

    Raises :class:`BeaconError` with the 4xx to answer. Does not commit.
    """
    [result] = ingest_many(session, [(body, meta, now or datetime.now(UTC))])
    if isinstance(result, BeaconError):
        raise result
    return result


def ingest_many(
    session: Session, items: Sequence[tuple[bytes, RequestMeta, datetime]]
) -> list[int | BeaconError]:
    """Validate and store several beacon bodies, in order, in one transaction.

    Returns, per body, the number of events stored or the :class:`BeaconError`
    that refused it (a refused body stores nothing). Database errors propagate;
    the caller then rolls back. Does not commit.
    """
    plan = _Plan(session)
    checked: list[_Checked | int | BeaconError] = []
    for body, meta, now in items:
        try:
            checked.append(plan.check(body, meta, now))
        except BeaconError as exc:
            checked.append(exc)
    plan.look_up_views([c for c in checked if isinstance(c, _Checked)])
    results: list[int | BeaconError] = []
    for item in checked:
        if isinstance(item, _Checked):
            try:
                item = plan.add(item)
            except BeaconError as exc:
                item = exc
        results.append(item)
    plan.write()
    return results


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


# --- the plan: validation and folding, in Python --------------------------------


@dataclass(eq=False)
class _Visit:
    """A visit session this call touches: stored (``id``) or new (``row``)."""

    id: int | None
    visitor_id: int | None
    last_seen: datetime | None  # None: stored, and only ever raised here
    added: int = 0  # page views added to it
    raise_to: datetime | None = None
    row: dict | None = None

    def touch(self, at: datetime) -> None:
        """Activity at ``at``: the visit lasts at least until then."""
        if self.last_seen is not None:
            self.last_seen = max(self.last_seen, at)
        self.raise_to = at if self.raise_to is None else max(self.raise_to, at)


@dataclass(eq=False)
class _View:
    """A page view this call refers to: stored (``id`` known) or new (``row``)."""

    site_id: int
    event_id: str
    id: int | None = None
    session_id: int | None = None
    content_id: int | None = None
    row: dict | None = None  # the page view to insert, with its maxima folded in
    content_key: tuple[int, str] | None = None
    visit: _Visit | None = None
    # Maxima sent for a stored page view (0 keeps the stored value).
    scroll_px: int = 0
    scroll_pct: float = 0.0
    active_ms: int = 0
    raised: bool = False

    def raise_scroll(self, px: int, pct: float) -> None:
        if self.row is not None:
            self.row["max_scroll_px"] = max(self.row["max_scroll_px"], px)
            self.row["max_scroll_pct"] = max(self.row["max_scroll_pct"], pct)
        else:
            self.scroll_px = max(self.scroll_px, px)
            self.scroll_pct = max(self.scroll_pct, pct)
            self.raised = True

    def raise_active(self, ms: int) -> None:
        if self.row is not None:
            self.row["active_ms"] = max(self.row["active_ms"], ms)
        else:
            self.active_ms = max(self.active_ms, ms)
            self.raised = True


@dataclass(eq=False)
class _Accepted:
    """A batch that passed the plan, with what it writes beyond its rows."""

    site_id: int
    visitor: tuple[int, str]
    anonymous: bool
    rotated_from: str | None
    new_views: list[tuple[_View, datetime, dict]]  # view, time, session fields
    touches: list[tuple[_View, datetime]]
    identifies: list[tuple[IdentifyEvent, _View, datetime]]


@dataclass(frozen=True)
class _Checked:
    """A parsed body of a known, enabled site and an allowed origin."""

    site: sites.SiteInfo
    batch: Batch
    meta: RequestMeta
    now: datetime


@dataclass(eq=False)
class _Plan:
    """Everything a group of batches writes, gathered before any write."""

    session: Session
    views: dict[tuple[int, str], _View] = field(default_factory=dict)
    visitors: dict[tuple[int, str], dict] = field(default_factory=dict)
    contents: dict[tuple[int, str], dict] = field(default_factory=dict)
    clicks: dict[tuple[int, str], tuple[ClickEvent, _View, datetime]] = field(
        default_factory=dict
    )
    sections: dict[tuple[_View, int], dict] = field(default_factory=dict)
    accepted: list[_Accepted] = field(default_factory=list)
    visits: list[_Visit] = field(default_factory=list)

    def check(self, body: bytes, meta: RequestMeta, now: datetime) -> _Checked | int:
        """Parse a body and check its site; a bot's beacon is recorded apart (0)."""
        now = _naive(now)
        batch = parse(body, now)
        site = sites.lookup(self.session, batch.s)
        if site is None:
            raise BeaconError(404, f"unknown site key {batch.s!r}")
        if not site.enabled:
            raise BeaconError(403, "this site is disabled")
        if not site.allows_origin(meta.origin):
            raise BeaconError(
                403, f"origin {meta.origin!r} is not allowed for this site"
            )
        if is_bot(meta.user_agent):
            record_bot(self.session, site.id, batch, meta.user_agent, now)
            return 0
        return _Checked(site, batch, meta, now)

    def look_up_views(self, checked: list[_Checked]) -> None:
        """Load the stored page views the bodies refer to, in one SELECT."""
        wanted = {(c.site.id, e.p) for c in checked for e in c.batch.e}
        if not wanted:
            return
        rows = self.session.connection().execute(
            _statements(self.session).find_views,
            {
                "site_ids": sorted({site_id for site_id, _ in wanted}),
                "event_ids": sorted({event_id for _, event_id in wanted}),
            },
        )
        for row in rows:
            if (row.site_id, row.event_id) in wanted:
                self.views[(row.site_id, row.event_id)] = _View(
                    row.site_id, row.event_id, row.id, row.session_id, row.content_id
                )

    def add(self, checked: _Checked) -> int:
        """Validate one batch against what is stored and what the group adds, and
        fold it into the group's rows."""
        site, batch, meta, now = checked.site, checked.batch, checked.meta, checked.now
        uid = visitor_uid(
            self.session,
            site,
            batch.v,
            ip=meta.ip,
            user_agent=meta.user_agent,
            privacy_signal=meta.privacy_signal,
            now=now,
        )
        new = self._new_views(site.id, batch, now)
        self._check_references(site.id, batch, new)
        self._accept(site.id, uid, batch, new, now)
        return len(batch.e)

    def _new_views(self, site_id: int, batch: Batch, now: datetime) -> dict:
        """The batch's page views not stored yet, as rows (nothing is kept yet)."""
        new: dict[tuple[int, str], _View] = {}
        for index, event in enumerate(batch.e):
            if not isinstance(event, PageViewEvent):
                continue
            if event.id != event.p:
                raise BeaconError(
                    400, f"e[{index}].p: a page view's p must equal its id"
                )
            key = (site_id, event.id)
            if key in self.views or key in new:
                continue  # re-sent: stored once
            try:
                url = _clean_url(event.u)
            except BadUrl as exc:
                raise BeaconError(400, f"e[{index}].u: {exc}") from None
            new[key] = self._view_row(site_id, event, url, _at(event.ts, now))
        return new

    def _view_row(
        self, site_id: int, event: PageViewEvent, url: str, at: datetime
    ) -> _View:
        canon, key, tags = _page_facts(url)
        referrer = _clean_referrer(event.r)
        view = _View(site_id, event.id, content_key=(site_id, key))
        view.row = {
            "site_id": site_id,
            "event_id": event.id,
            "viewed_at": at,
            "url": url,
            "title": _redact(event.ti)[:1024],
            "referrer": referrer,
            **{name: tags.get(name) for name in _UTM_COLUMNS},
            "viewport_w": event.vw,
            "viewport_h": event.vh,
            "doc_h": event.dh,
            "device": device_class(event.vw),
            "max_scroll_px": min(event.vh, event.dh),
            "max_scroll_pct": _pct(event.vh, event.dh),
            "active_ms": 0,
            "_canon": canon,
        }
        return view

    def _check_references(self, site_id: int, batch: Batch, new: dict) -> None:
        for index, event in enumerate(batch.e):
            key = (site_id, event.p)
            if key not in self.views and key not in new:
                raise BeaconError(400, f"e[{index}].p: unknown page view {event.p!r}")

    def _accept(
        self, site_id: int, uid: str, batch: Batch, new: dict, now: datetime
    ) -> None:
        """Fold a valid batch into the group's rows, in event order."""
        self.views.update(new)
        visitor = (site_id, uid)
        first_at = min(_at(e.ts, now) for e in batch.e)
        row = self.visitors.setdefault(
            visitor,
            {
                "site_id": site_id,
                "uid": uid,
                "is_internal": False,
                "first_seen_at": first_at,
            },
        )
        row["is_internal"] = row["is_internal"] or bool(batch.i)
        row["last_seen_at"] = now
        accepted = _Accepted(site_id, visitor, is_anonymous(uid), batch.o, [], [], [])
        for event in batch.e:
            key = (site_id, event.p)
            view = self.views[key]
            at = _at(event.ts, now)
            if isinstance(event, PageViewEvent):
                if new.pop(key, None) is not None:  # its first sighting
                    accepted.new_views.append((view, at, view.row))
                    self._content(view, at)
                continue
            accepted.touches.append((view, at))
            if isinstance(event, ClickEvent):
                self.clicks.setdefault((site_id, event.id), (event, view, at))
            elif isinstance(event, ScrollEvent):
                view.raise_scroll(event.d, event.f * 100)
            elif isinstance(event, LayoutEvent):
                self._layout(view, event)
            elif isinstance(event, AttentionEvent):
                self._attention(view, event)
            elif isinstance(event, IdentifyEvent) and not accepted.anonymous:
                accepted.identifies.append((event, view, at))
        self.accepted.append(accepted)

    def _content(self, view: _View, at: datetime) -> None:
        """The content item row: first sighting's time, latest non-empty title."""
        row = self.contents.setdefault(
            view.content_key,
            {
                "site_id": view.site_id,
                "url": view.row["_canon"],
                "url_hash": view.content_key[1],
                "title": "",
                "first_seen_at": at,
            },
        )
        if view.row["title"]:
            row["title"] = view.row["title"]

    def _layout(self, view: _View, event: LayoutEvent) -> None:
        for index, (level, heading, top, height) in enumerate(event.sec):
            row = self._section(view, index)
            row.update(
                level=level,
                heading=_redact(heading)[:200],
                top_px=top,
                height_px=height,
            )

    def _attention(self, view: _View, event: AttentionEvent) -> None:
        view.raise_active(event.ms)
        for index, ms in event.a:  # a hostile batch may repeat an index
            row = self._section(view, index)
            row["active_ms"] = max(row["active_ms"], ms)

    def _section(self, view: _View, index: int) -> dict:
        return self.sections.setdefault(
            (view, index),
            {
                "idx": index,
                "level": None,
                "heading": None,
                "top_px": None,
                "height_px": None,
                "active_ms": 0,
            },
        )

    # --- the write: a handful of set-based statements ---------------------------

    def write(self) -> None:
        """Store the accepted batches (nothing when all were refused or bots)."""
        if not self.accepted:
            return
        conn = self.session.connection()
        stmts = _statements(self.session)
        visitor_ids = self._write_visitors(conn, stmts)
        content_ids = self._write_contents(conn, stmts)
        self._replay_sessions(conn, stmts, visitor_ids)
        self._write_sessions(conn, stmts)
        self._write_views(conn, stmts, visitor_ids, content_ids)
        self._write_clicks(conn, stmts)
        self._write_sections(conn, stmts)
        self._write_maxima(conn, stmts)
        self._write_identifies(visitor_ids)

    def _write_visitors(self, conn: Connection, stmts) -> dict:
        rows = [self.visitors[key] for key in sorted(self.visitors)]
        result = conn.execute(stmts.upsert_visitors, rows)
        return {(row.site_id, row.uid): row.id for row in result}

    def _write_contents(self, conn: Connection, stmts) -> dict:
        if not self.contents:
            return {}
        rows = [self.contents[key] for key in sorted(self.contents)]
        result = conn.execute(stmts.upsert_contents, rows)
        return {(row.site_id, row.url_hash): row.id for row in result}

    def _replay_sessions(self, conn: Connection, stmts, visitor_ids: dict) -> None:
        """Assign each new page view its visit as one-by-one ingestion would: the
        visitor's latest visit unless idle for 30 minutes, else a new one."""
        by_id: dict[int, _Visit] = {}
        wanted = {visitor_ids[a.visitor] for a in self.accepted if a.new_views}
        stored = {v.session_id for v in self.views.values() if v.row is None}
        if wanted:
            query = stmts.latest_visits
            params: dict = {"visitor_ids": sorted(wanted)}
            if stored:
                query = stmts.latest_and_known_visits
                params["session_ids"] = sorted(stored)
            for row in conn.execute(query, params):
                by_id.setdefault(
                    row.id, _Visit(row.id, row.visitor_id, row.last_seen_at)
                )
        of_visitor: dict[int, list[_Visit]] = {}
        for visit in by_id.values():
            of_visitor.setdefault(visit.visitor_id, []).append(visit)
        for view in self.views.values():
            if view.row is None:
                view.visit = by_id.setdefault(
                    view.session_id, _Visit(view.session_id, None, None)
                )
        for accepted in self.accepted:
            visitor_id = visitor_ids[accepted.visitor]
            for view, at, row in accepted.new_views:
                view.visit = _join_visit(of_visitor.setdefault(visitor_id, []), at, row)
                view.visit.visitor_id = row["visitor_id"] = visitor_id
            for view, at in accepted.touches:
                view.visit.touch(at)
        self.visits = list(
            {id(v.visit): v.visit for v in self.views.values() if v.visit}.values()
        )

    def _write_sessions(self, conn: Connection, stmts) -> None:
        visits = self.visits
        new = [v for v in visits if v.id is None]
        if new:
            rows = [
                {
                    **v.row,
                    "visitor_id": v.visitor_id,
                    "last_seen_at": v.last_seen,
                    "pageviews": v.added,
                }
                for v in new
            ]
            result = conn.execute(stmts.insert_sessions, rows)
            for visit, row in zip(new, result, strict=True):
                visit.id = row.id
        changed = sorted(
            (v for v in visits if v.row is None and v.raise_to is not None),
            key=lambda v: v.id,
        )
        if changed:
            conn.execute(
                stmts.raise_sessions,
                [
                    {"b_id": v.id, "b_added": v.added, "b_at": v.raise_to}
                    for v in changed
                ],
            )

    def _write_views(
        self, conn: Connection, stmts, visitor_ids: dict, content_ids: dict
    ) -> None:
        new = [v for v in self.views.values() if v.row is not None]
        if not new:
            return
        rows = []
        for view in sorted(new, key=lambda v: (v.site_id, v.event_id)):
            view.content_id = content_ids[view.content_key]
            view.session_id = view.visit.id
            row = {k: v for k, v in view.row.items() if k != "_canon"}
            row.update(session_id=view.session_id, content_id=view.content_id)
            rows.append(row)
        result = conn.execute(stmts.insert_views, rows)
        ids = {(row.site_id, row.event_id): row.id for row in result}
        for view in new:
            view.id = ids.get((view.site_id, view.event_id))
        raced = [view for view in new if view.id is None]
        if raced:  # stored meanwhile by another process: refer to that row
            self._resolve_raced(conn, stmts, raced)

    def _resolve_raced(self, conn: Connection, stmts, raced: list[_View]) -> None:
        for view in raced:
            params = {"site_ids": [view.site_id], "event_ids": [view.event_id]}
            row = conn.execute(stmts.find_views, params).one()
            view.id, view.content_id = row.id, row.content_id

    def _write_clicks(self, conn: Connection, stmts) -> None:
        if not self.clicks:
            return
        rows = [
            {
                "site_id": view.site_id,
                "event_id": c.id,
                "pageview_id": view.id,
                "content_id": view.content_id,
                "clicked_at": at,
                "x": c.x,
                "y": c.y,
                "viewport_w": c.vw,
                "selector": c.s,
                "fx": c.fx,
                "fy": c.fy,
                "tag": c.tg,
                "text": _redact(c.tx)[:60],
                "href": _clean_href(c.h),
                "interactive": c.in_,
                "dead": c.dd,
                "error": c.er,
            }
            for _key, (c, view, at) in sorted(self.clicks.items(), key=lambda i: i[0])
        ]
        conn.execute(stmts.insert_clicks, rows)

    def _write_sections(self, conn: Connection, stmts) -> None:
        if not self.sections:
            return
        rows = sorted(
            (
                {**row, "pageview_id": view.id}
                for (view, _), row in self.sections.items()
            ),
            key=lambda r: (r["pageview_id"], r["idx"]),
        )
        conn.execute(stmts.upsert_sections, rows)

    def _write_maxima(self, conn: Connection, stmts) -> None:
        """Raise the scroll depth and active time of page views stored before."""
        raised = sorted(
            (v for v in self.views.values() if v.row is None and v.raised),
            key=lambda v: v.id,
        )
        if raised:
            conn.execute(
                stmts.raise_views,
                [
                    {
                        "b_id": v.id,
                        "b_px": v.scroll_px,
                        "b_pct": v.scroll_pct,
                        "b_ms": v.active_ms,
                    }
                    for v in raised
                ],
            )

    def _write_identifies(self, visitor_ids: dict) -> None:
        for accepted in self.accepted:
            visitor_id = visitor_ids[accepted.visitor]
            for event, view, at in accepted.identifies:
                lead_id = put_identify(
                    self.session, accepted.site_id, visitor_id, view.id, event, at
                )
                if lead_id and accepted.rotated_from:
                    record_rotation(
                        self.session,
                        accepted.site_id,
                        f"c:{accepted.rotated_from}",
                        lead_id,
                        at,
                    )


_UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _join_visit(visits: list[_Visit], at: datetime, row: dict) -> _Visit:
    """The visit a page view at ``at`` belongs to: the visitor's latest one
    unless it has been idle for 30 minutes or more, else a new one (appended)."""
    known = [v for v in visits if v.last_seen is not None]
    latest = max(known, key=lambda v: v.last_seen, default=None)
    if latest is not None and abs(at - latest.last_seen) < SESSION_GAP:
        latest.added += 1
        latest.touch(at)
        return latest
    visit = _Visit(
        None,
        None,
        at,
        added=1,
        row={
            "site_id": row["site_id"],
            "started_at": at,
            "landing_url": row["url"],
            "referrer": row["referrer"],
            "utm_source": row["utm_source"],
            "utm_medium": row["utm_medium"],
            "utm_campaign": row["utm_campaign"],
            "device": row["device"],
        },
    )
    visits.append(visit)
    return visit


def put_identify(
    session: Session,
    site_id: int,
    visitor_id: int,
    pageview_id: int,
    event: IdentifyEvent,
    at: datetime,
) -> int | None:
    """Record the identify call once and link the visitor to the lead; the lead's
    id, or None for a replayed call."""
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


# --- statements, built once per dialect ---------------------------------------


@dataclass(frozen=True)
class _Statements:
    find_views: object
    upsert_visitors: object
    upsert_contents: object
    latest_visits: object
    latest_and_known_visits: object
    insert_sessions: object
    raise_sessions: object
    insert_views: object
    insert_clicks: object
    upsert_sections: object
    raise_views: object


_STATEMENTS: dict[str, _Statements] = {}


def _statements(session: Session) -> _Statements:
    """The collector's statements for the session's dialect, built on first use
    (building them costs more than executing them from SQLAlchemy's cache)."""
    dialect = dialect_name(session)
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = _build(session)
    return _STATEMENTS[dialect]


def _build(session: Session) -> _Statements:
    visitors = insert(session, Visitor)
    contents = insert(session, Content)
    sections = insert(session, PageSection)
    section = PageSection.__table__.c
    ranked = (
        select(
            VisitSession.id,
            VisitSession.visitor_id,
            VisitSession.last_seen_at,
            sqlfunc.row_number()
            .over(
                partition_by=VisitSession.visitor_id,
                order_by=VisitSession.last_seen_at.desc(),
            )
            .label("rank"),
        )
        .where(VisitSession.visitor_id.in_(bindparam("visitor_ids", expanding=True)))
        .subquery()
    )
    latest = select(ranked.c.id, ranked.c.visitor_id, ranked.c.last_seen_at).where(
        ranked.c.rank == 1
    )
    known = select(
        VisitSession.id, VisitSession.visitor_id, VisitSession.last_seen_at
    ).where(VisitSession.id.in_(bindparam("session_ids", expanding=True)))
    return _Statements(
        find_views=select(
            PageView.site_id,
            PageView.event_id,
            PageView.id,
            PageView.session_id,
            PageView.content_id,
        ).where(
            PageView.site_id.in_(bindparam("site_ids", expanding=True)),
            PageView.event_id.in_(bindparam("event_ids", expanding=True)),
        ),
        upsert_visitors=visitors.on_conflict_do_update(
            index_elements=["site_id", "uid"],
            set_={
                "last_seen_at": visitors.excluded.last_seen_at,
                "is_internal": or_(Visitor.is_internal, visitors.excluded.is_internal),
            },
        ).returning(Visitor.id, Visitor.site_id, Visitor.uid),
        upsert_contents=contents.on_conflict_do_update(
            index_elements=["site_id", "url_hash"],
            set_={
                "title": sqlfunc.coalesce(
                    sqlfunc.nullif(contents.excluded.title, ""), Content.title
                )
            },
        ).returning(Content.id, Content.site_id, Content.url_hash),
        latest_visits=latest,
        latest_and_known_visits=union_all(latest, known),
        insert_sessions=insert(session, VisitSession).returning(
            VisitSession.id, sort_by_parameter_order=True
        ),
        raise_sessions=update(VisitSession)
        .where(VisitSession.id == bindparam("b_id"))
        .values(
            pageviews=VisitSession.pageviews + bindparam("b_added"),
            last_seen_at=later(session, VisitSession.last_seen_at, bindparam("b_at")),
        ),
        insert_views=insert(session, PageView)
        .on_conflict_do_nothing()
        .returning(PageView.id, PageView.site_id, PageView.event_id),
        insert_clicks=insert(session, Click).on_conflict_do_nothing(),
        upsert_sections=sections.on_conflict_do_update(
            index_elements=["pageview_id", "idx"],
            set_={
                # Attention-only rows carry no layout: keep the stored one.
                name: sqlfunc.coalesce(getattr(sections.excluded, name), section[name])
                for name in ("level", "heading", "top_px", "height_px")
            }
            | {
                "active_ms": later(
                    session, section.active_ms, sections.excluded.active_ms
                )
            },
        ),
        raise_views=update(PageView)
        .where(PageView.id == bindparam("b_id"))
        .values(
            max_scroll_px=later(session, PageView.max_scroll_px, bindparam("b_px")),
            max_scroll_pct=later(session, PageView.max_scroll_pct, bindparam("b_pct")),
            active_ms=later(session, PageView.active_ms, bindparam("b_ms")),
        ),
    )


# --- small helpers --------------------------------------------------------------


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
        return _clean_url(url) if url else None
    except BadUrl:
        return None


__all__ = [
    "BeaconError",
    "RequestMeta",
    "device_class",
    "ingest",
    "ingest_many",
    "put_content",
]
