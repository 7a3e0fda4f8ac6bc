"""Ingest: the one place that writes events.

Owns: turning validated beacons into rows: the site check, bots apart, visitor,
session, content item, page view, clicks, scroll, sections, attention and identify.
Everything a call writes happens in the caller's transaction, so a refused batch
stores nothing; the caller commits before answering 2xx.

Idempotency, because browsers and our own retry queue re-send: a page view whose
client event id is stored is not stored again (one stored by another process
between the look-up and the insert fails the transaction, and the writer retries
each batch alone), clicks and identify calls are inserted ``ON CONFLICT DO
NOTHING`` on their event id, scroll and attention only ever raise a stored maximum.

Set-based, because the collector's cost is the number of statements, not the rows:
:func:`ingest_many` takes several batches (a group commit, see ``tracker.writer``)
and works in two phases. The *plan* validates every batch in arrival order in
Python (one ``SELECT`` finds the page views they refer to) and folds what each
event does into the rows it touches: a new page view is inserted with its scroll
depth and active time already raised, a section row gets its layout and attention
at once, the 30-minute session rule is replayed in memory. The *write* then stores
the whole group in about ten statements whatever its size, sent in two pipelines
(two round trips on PostgreSQL), each row set sorted by key so that two processes
lock rows in the same order. A batch refused in the plan
is left out of the write, so it stores nothing and takes no other batch down.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.core.dialect import RawSql, Result, insert
from resonance.core.models import BotHit, Content, Identify
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
from tracker.identity import (
    is_anonymous,
    link_visitor,
    record_rotation,
    visitor_uid,
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


class UnknownPageView(BeaconError):
    """A batch refers to a page view that is not stored (nor in the batch)."""


@dataclass(frozen=True)
class RequestMeta:
    """Facts of the HTTP request that carried a beacon (the IP is never stored)."""

    ip: str
    user_agent: str
    origin: str | None = None
    privacy_signal: bool = False
    # The visitor uid, worked out when a beacon is put in the inbox (which keeps
    # no IP); None: work it out from the fields above.
    uid: str | None = None


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
    session: Session,
    items: Sequence[tuple[bytes | Batch, RequestMeta, datetime]],
    *,
    commit: bool = False,
) -> list[int | BeaconError]:
    """Validate and store several beacon bodies, in order, in one transaction.

    A body may come parsed already (:func:`tracker.beacon.parse` with the same
    ``now``): the collector validates in the request's thread, so that the
    writer's serial work is only the database's.

    Returns, per body, the number of events stored or the :class:`BeaconError`
    that refused it (a refused body stores nothing). Database errors propagate;
    the caller then rolls back. With ``commit`` the transaction may be committed
    along with the last writes (saving a round trip); the caller still calls
    ``session.commit()``, which then has nothing left to do.
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
    plan.write(commit)
    return results


def admit(
    session: Session, batch: Batch, meta: RequestMeta, now: datetime
) -> RequestMeta:
    """Check a beacon as far as it can be without the stored page views, for the
    inbox: its site, origin and page views. Returns the request facts to keep with
    it: the visitor uid instead of the IP. Raises :class:`BeaconError`."""
    site = _site_for(session, batch, meta)
    uid = ""  # a bot's beacon is recorded apart: no visitor
    if not is_bot(meta.user_agent):
        for index, event in enumerate(batch.e):
            if isinstance(event, PageViewEvent):
                _page_url(index, event)
        uid = _uid(session, site, batch, meta, naive_utc(now))
    return RequestMeta(ip="", user_agent=meta.user_agent, origin=meta.origin, uid=uid)


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
    session.flush()  # written here, by ingest, not at the caller's commit


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

    def check(
        self, body: bytes | Batch, meta: RequestMeta, now: datetime
    ) -> _Checked | int:
        """Parse a body (unless parsed already) and check its site; a bot's beacon
        is recorded apart (0)."""
        batch = body if isinstance(body, Batch) else parse(body, now)
        now = naive_utc(now)
        site = _site_for(self.session, batch, meta)
        if is_bot(meta.user_agent):
            record_bot(self.session, site.id, batch, meta.user_agent, now)
            return 0
        return _Checked(site, batch, meta, now)

    def look_up_views(self, checked: list[_Checked]) -> None:
        """Load the stored page views the bodies refer to, in one SELECT."""
        wanted = {(c.site.id, e.p) for c in checked for e in c.batch.e}
        if not wanted:
            return
        site_ids = sorted({site_id for site_id, _ in wanted})
        event_ids = sorted({event_id for _, event_id in wanted})
        sql = RawSql(self.session)
        among_sites, params = sql.among(site_ids)
        among_events, more = sql.among(event_ids)
        for site_id, event_id, id_, session_id, content_id in sql.query(
            "SELECT site_id, event_id, id, session_id, content_id FROM pageviews"
            f" WHERE site_id {among_sites} AND event_id {among_events}",
            params + more,
        ).rows():
            if (site_id, event_id) in wanted:
                self.views[(site_id, event_id)] = _View(
                    site_id, event_id, id_, session_id, content_id
                )

    def add(self, checked: _Checked) -> int:
        """Validate one batch against what is stored and what the group adds, and
        fold it into the group's rows."""
        site, batch, meta, now = checked.site, checked.batch, checked.meta, checked.now
        uid = _uid(self.session, site, batch, meta, now)
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
            url = _page_url(index, event)
            key = (site_id, event.id)
            if key in self.views or key in new:
                continue  # re-sent: stored once
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
                raise UnknownPageView(
                    400, f"e[{index}].p: unknown page view {event.p!r}"
                )

    def _accept(
        self, site_id: int, uid: str, batch: Batch, new: dict, now: datetime
    ) -> None:
        """Fold a valid batch into the group's rows, in event order."""
        self.views.update(new)
        visitor = (site_id, uid)
        first_at = _at(min(e.ts for e in batch.e), now)
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
                view.raise_scroll(event.d, _pct(event.d, event.dh))
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

    def write(self, commit: bool = False) -> None:
        """Store the accepted batches (nothing when all were refused or bots).

        Two pipelines (one network round trip each on PostgreSQL): first the
        visitors and content items with their ids, the visitors' latest visits
        and ids reserved for the new visits and page views; then, once the
        sessions are replayed in memory, every other row. ``commit`` ends the
        transaction inside the second pipeline when nothing else is pending.
        """
        if not self.accepted:
            return
        sql = RawSql(self.session)
        new_views = sorted(
            (v for v in self.views.values() if v.row is not None),
            key=lambda v: (v.site_id, v.event_id),
        )
        with sql.pipeline():
            visitors = self._upsert_visitors(sql)
            contents = self._upsert_contents(sql)
            visits = self._query_visits(sql)
            visit_ids = sql.reserve_ids("visit_sessions", len(new_views))
            view_ids = sql.reserve_ids("pageviews", len(new_views))
        visitor_ids = {(site_id, uid): id_ for id_, site_id, uid in visitors.rows()}
        content_ids = {(site_id, key): id_ for id_, site_id, key in contents.rows()}
        self._replay_sessions(sql, visitor_ids, visits.rows())
        new_visits = [v for v in self.visits if v.id is None]
        for visit, id_ in zip(new_visits, visit_ids.ids(), strict=False):
            visit.id = id_
        for view, id_ in zip(new_views, view_ids.ids(), strict=False):
            view.id = id_
            view.content_id = content_ids[view.content_key]
            view.session_id = view.visit.id
        ends = (
            commit
            and not self.session.new
            and not any(a.identifies for a in self.accepted)
        )
        with sql.pipeline():
            self._insert_sessions(sql, new_visits)
            self._raise_sessions(sql)
            self._insert_views(sql, new_views)
            self._insert_clicks(sql)
            self._upsert_sections(sql)
            self._raise_views(sql)
            if ends:
                sql.commit()
        self._write_identifies(visitor_ids)

    def _upsert_visitors(self, sql: RawSql) -> Result:
        rows = [
            (site_id, uid, row["is_internal"], row["first_seen_at"],
             row["last_seen_at"])
            for (site_id, uid), row in sorted(self.visitors.items())
        ]  # fmt: skip
        return sql.insert(
            "visitors",
            (
                ("site_id", "int"),
                ("uid", "text"),
                ("is_internal", "bool"),
                ("first_seen_at", "timestamp"),
                ("last_seen_at", "timestamp"),
            ),
            rows,
            "ON CONFLICT (site_id, uid) DO UPDATE SET"
            " last_seen_at = excluded.last_seen_at,"
            " is_internal = visitors.is_internal OR excluded.is_internal"
            " RETURNING id, site_id, uid",
        )

    def _upsert_contents(self, sql: RawSql) -> Result:
        rows = [
            (site_id, row["url"], key, row["title"], row["first_seen_at"])
            for (site_id, key), row in sorted(self.contents.items())
        ]
        return sql.insert(
            "contents",
            (
                ("site_id", "int"),
                ("url", "text"),
                ("url_hash", "text"),
                ("title", "text"),
                ("first_seen_at", "timestamp"),
            ),
            rows,
            "ON CONFLICT (site_id, url_hash) DO UPDATE SET"
            " title = coalesce(nullif(excluded.title, ''), contents.title)"
            " RETURNING id, site_id, url_hash",
        )

    def _query_visits(self, sql: RawSql) -> Result:
        """The latest visit of each visitor with a new page view (found by site
        and uid: their ids arrive in the same pipeline), and the visits of the
        stored page views the group refers to."""
        keys = {a.visitor for a in self.accepted if a.new_views}
        if not keys:
            return Result([])
        among_sites, params = sql.among(sorted({site_id for site_id, _ in keys}))
        among_uids, uids = sql.among(sorted({uid for _, uid in keys}))
        text = _VISITS_SQL.format(sites=among_sites, uids=among_uids)
        params += uids
        stored = sorted({v.session_id for v in self.views.values() if v.row is None})
        if stored:
            among_ids, ids = sql.among(stored)
            text += " UNION ALL " + _KNOWN_VISITS_SQL.format(ids=among_ids)
            params += ids
        return sql.query(text, params)

    def _replay_sessions(
        self, sql: RawSql, visitor_ids: dict, stored_visits: list[tuple]
    ) -> None:
        """Assign each new page view its visit as one-by-one ingestion would: the
        visitor's latest visit unless idle for 30 minutes, else a new one."""
        by_id: dict[int, _Visit] = {}
        for id_, visitor_id, last_seen in stored_visits:
            by_id.setdefault(id_, _Visit(id_, visitor_id, sql.when(last_seen)))
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

    def _insert_sessions(self, sql: RawSql, new: list[_Visit]) -> None:
        rows = [
            (
                v.id, v.row["site_id"], v.visitor_id, v.row["started_at"],
                v.last_seen, v.row["landing_url"], v.row["referrer"],
                v.row["utm_source"], v.row["utm_medium"], v.row["utm_campaign"],
                v.row["device"], v.added,
            )
            for v in new
        ]  # fmt: skip
        sql.insert("visit_sessions", _VISIT_COLUMNS, rows)

    def _raise_sessions(self, sql: RawSql) -> None:
        changed = sorted(
            (v for v in self.visits if v.row is None and v.raise_to is not None),
            key=lambda v: v.id,
        )
        sql.update(
            "visit_sessions",
            (("v_id", "int"), ("v_added", "int"), ("v_at", "timestamp")),
            [(v.id, v.added, v.raise_to) for v in changed],
            "pageviews = pageviews + u.v_added,"
            f" last_seen_at = {sql.greatest}(last_seen_at, u.v_at)",
        )

    def _insert_views(self, sql: RawSql, new: list[_View]) -> None:
        """Insert the new page views under their reserved ids. One stored meanwhile
        by another process fails the transaction (its clicks would point at the
        reserved id): the writer then stores each batch alone, which finds it."""
        sql.insert(
            "pageviews",
            _VIEW_COLUMNS,
            [
                (
                    view.id,
                    *(view.row[name] for name, _ in _VIEW_COLUMNS[1:-2]),
                    view.session_id,
                    view.content_id,
                )
                for view in new
            ],
        )

    def _insert_clicks(self, sql: RawSql) -> None:
        rows = [
            (
                view.site_id, c.id, view.id, view.content_id, at, c.x, c.y, c.vw,
                c.s, float(c.fx), float(c.fy), c.tg, _redact(c.tx)[:60],
                _clean_href(c.h), c.in_, c.dd, c.er,
            )
            for _key, (c, view, at) in sorted(self.clicks.items(), key=lambda i: i[0])
        ]  # fmt: skip
        sql.insert(
            "clicks",
            (
                ("site_id", "int"),
                ("event_id", "text"),
                ("pageview_id", "int"),
                ("content_id", "int"),
                ("clicked_at", "timestamp"),
                ("x", "int"),
                ("y", "int"),
                ("viewport_w", "int"),
                ("selector", "text"),
                ("fx", "float8"),
                ("fy", "float8"),
                ("tag", "text"),
                ("text", "text"),
                ("href", "text"),
                ("interactive", "bool"),
                ("dead", "bool"),
                ("error", "bool"),
            ),
            rows,
            "ON CONFLICT (site_id, event_id) DO NOTHING",
        )

    def _upsert_sections(self, sql: RawSql) -> None:
        rows = sorted(
            (view.id, idx, row["level"], row["heading"], row["top_px"],
             row["height_px"], row["active_ms"])
            for (view, idx), row in self.sections.items()
        )  # fmt: skip
        # Attention-only rows carry no layout (NULL): the stored one is kept.
        keep = ", ".join(
            f"{name} = coalesce(excluded.{name}, page_sections.{name})"
            for name in ("level", "heading", "top_px", "height_px")
        )
        sql.insert(
            "page_sections",
            (
                ("pageview_id", "int"),
                ("idx", "int"),
                ("level", "int"),
                ("heading", "text"),
                ("top_px", "int"),
                ("height_px", "int"),
                ("active_ms", "int"),
            ),
            rows,
            f"ON CONFLICT (pageview_id, idx) DO UPDATE SET {keep}, active_ms ="
            f" {sql.greatest}(page_sections.active_ms, excluded.active_ms)",
        )

    def _raise_views(self, sql: RawSql) -> None:
        """Raise the scroll depth and active time of page views stored before."""
        raised = sorted(
            (v for v in self.views.values() if v.row is None and v.raised),
            key=lambda v: v.id,
        )
        big = sql.greatest
        sql.update(
            "pageviews",
            (("v_id", "int"), ("v_px", "int"), ("v_pct", "float8"), ("v_ms", "int")),
            [(v.id, v.scroll_px, float(v.scroll_pct), v.active_ms) for v in raised],
            f"max_scroll_px = {big}(max_scroll_px, u.v_px),"
            f" max_scroll_pct = {big}(max_scroll_pct, u.v_pct),"
            f" active_ms = {big}(active_ms, u.v_ms)",
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


_VIEW_COLUMNS = (
    ("id", "int"), ("site_id", "int"), ("event_id", "text"), ("visitor_id", "int"),
    ("viewed_at", "timestamp"), ("url", "text"), ("title", "text"),
    ("referrer", "text"), ("utm_source", "text"), ("utm_medium", "text"),
    ("utm_campaign", "text"), ("utm_term", "text"), ("utm_content", "text"),
    ("viewport_w", "int"), ("viewport_h", "int"), ("doc_h", "int"),
    ("device", "text"), ("max_scroll_px", "int"), ("max_scroll_pct", "float8"),
    ("active_ms", "int"), ("session_id", "int"), ("content_id", "int"),
)  # fmt: skip
_VISIT_COLUMNS = (
    ("id", "int"), ("site_id", "int"), ("visitor_id", "int"),
    ("started_at", "timestamp"),
    ("last_seen_at", "timestamp"), ("landing_url", "text"), ("referrer", "text"),
    ("utm_source", "text"), ("utm_medium", "text"), ("utm_campaign", "text"),
    ("device", "text"), ("pageviews", "int"),
)  # fmt: skip
# The latest visit of visitors found by site and uid (the index on visitor_id,
# last_seen_at serves it).
_VISITS_SQL = (
    "SELECT id, visitor_id, last_seen_at FROM ("
    "SELECT s.id, s.visitor_id, s.last_seen_at, row_number() OVER ("
    "PARTITION BY s.visitor_id ORDER BY s.last_seen_at DESC) AS rank"
    " FROM visit_sessions AS s JOIN visitors AS v ON v.id = s.visitor_id"
    " WHERE v.site_id {sites} AND v.uid {uids}) AS ranked"
    " WHERE rank = 1"
)
_KNOWN_VISITS_SQL = (
    "SELECT id, visitor_id, last_seen_at FROM visit_sessions WHERE id {ids}"
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


# --- small helpers --------------------------------------------------------------


def _site_for(session: Session, batch: Batch, meta: RequestMeta) -> sites.SiteInfo:
    """The batch's site, known, enabled and open to the page's origin."""
    site = sites.lookup(session, batch.s)
    if site is None:
        raise BeaconError(404, f"unknown site key {batch.s!r}")
    if not site.enabled:
        raise BeaconError(403, "this site is disabled")
    if not site.allows_origin(meta.origin):
        raise BeaconError(403, f"origin {meta.origin!r} is not allowed for this site")
    return site


def _uid(
    session: Session,
    site: sites.SiteInfo,
    batch: Batch,
    meta: RequestMeta,
    now: datetime,
) -> str:
    """The batch's visitor uid: the one worked out on arrival, if any."""
    return meta.uid or visitor_uid(
        session,
        site,
        batch.v,
        ip=meta.ip,
        user_agent=meta.user_agent,
        privacy_signal=meta.privacy_signal,
        now=now,
    )


def _page_url(index: int, event: PageViewEvent) -> str:
    """The page view's cleaned URL; refuses a page view that is not its own."""
    if event.id != event.p:
        raise BeaconError(400, f"e[{index}].p: a page view's p must equal its id")
    try:
        return _clean_url(event.u)
    except BadUrl as exc:
        raise BeaconError(400, f"e[{index}].u: {exc}") from None


_EPOCH = datetime(1970, 1, 1)


def _at(ts_ms: int, now: datetime) -> datetime:
    """The event's time, naive UTC, never later than ``now`` (naive: clock skew)."""
    at = _EPOCH + timedelta(milliseconds=ts_ms)
    return at if at < now else now


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as the naive UTC the tables hold."""
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
    "admit",
    "device_class",
    "ingest",
    "ingest_many",
    "put_content",
]
