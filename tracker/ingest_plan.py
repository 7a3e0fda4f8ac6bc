"""The plan of a group write: beacons checked and folded into rows, in Python.

Owns: validating each batch in arrival order against what is stored (one
``SELECT`` finds the page views a group refers to) and what the group adds, and
folding what each event does into the rows it touches: a new page view with its
scroll depth and active time already raised, a section row with its layout and
attention at once, the 30-minute session rule replayed in memory. Nothing here
writes an event table: ``tracker.ingest`` stores the plan in a handful of
statements. A batch refused here is left out of the plan, so it stores nothing
and takes no other batch down.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from resonance.core.dialect import RawSql
from tracker import sites, visits
from tracker.beacon import (
    AttentionEvent,
    Batch,
    BeaconError,
    ClickEvent,
    IdentifyEvent,
    LayoutEvent,
    PageViewEvent,
    ScrollEvent,
)
from tracker.bots import is_bot
from tracker.contents import ContentKey, fold_sighting
from tracker.event_rows import (
    Clicks,
    Sections,
    View,
    bot_row,
    clean_page_url,
    event_time,
    fold_attention,
    fold_layout,
    new_view,
    scroll_pct,
)
from tracker.identity import is_anonymous, visitor_uid
from tracker.urls import BadUrl
from tracker.visits import Visit, VisitorKey


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


@dataclass(frozen=True)
class Checked:
    """A parsed body of a known, enabled site and an allowed origin."""

    site: sites.SiteInfo
    batch: Batch
    meta: RequestMeta
    now: datetime  # naive UTC


@dataclass(eq=False)
class Accepted:
    """A batch that passed the plan, with what it writes beyond its rows."""

    site_id: int
    visitor: VisitorKey
    anonymous: bool
    rotated_from: str | None
    new_views: list[tuple[View, datetime, dict]]  # view, time, its row
    touches: list[tuple[View, datetime]]
    identifies: list[tuple[IdentifyEvent, View, datetime]]


@dataclass(eq=False)
class Plan:
    """Everything a group of batches writes, gathered before any write."""

    session: Session
    views: dict[tuple[int, str], View] = field(default_factory=dict)
    visitors: dict[VisitorKey, dict] = field(default_factory=dict)
    contents: dict[ContentKey, dict] = field(default_factory=dict)
    clicks: Clicks = field(default_factory=dict)
    sections: Sections = field(default_factory=dict)
    bots: list[tuple] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def check(self, batch: Batch, meta: RequestMeta, now: datetime) -> Checked | int:
        """Check a batch's site (``now`` naive UTC); a bot's beacon becomes a bot
        hit, apart from visitors (0 events)."""
        site = site_for(self.session, batch, meta)
        if is_bot(meta.user_agent):
            url = next((e.u for e in batch.e if isinstance(e, PageViewEvent)), None)
            self.bots.append(bot_row(site.id, url, meta.user_agent, now))
            return 0
        return Checked(site, batch, meta, now)

    def look_up_views(self, checked: list[Checked]) -> None:
        """Load the stored page views the bodies refer to, in one SELECT."""
        wanted = {(c.site.id, e.p) for c in checked for e in c.batch.e}
        if not wanted:
            return
        sql = RawSql(self.session)
        among_sites, params = sql.among(sorted({site_id for site_id, _ in wanted}))
        among_events, more = sql.among(sorted({event_id for _, event_id in wanted}))
        for site_id, event_id, id_, session_id, content_id in sql.query(
            "SELECT site_id, event_id, id, session_id, content_id FROM pageviews"
            f" WHERE site_id {among_sites} AND event_id {among_events}",
            params + more,
        ).rows():
            if (site_id, event_id) in wanted:
                self.views[(site_id, event_id)] = View(
                    site_id, event_id, id_, session_id, content_id
                )

    def add(self, checked: Checked) -> int:
        """Validate one batch against what is stored and what the group adds, and
        fold it into the group's rows; the number of its events."""
        site, batch, meta, now = checked.site, checked.batch, checked.meta, checked.now
        uid = uid_for(self.session, site, batch, meta, now)
        new = self._new_views(site.id, batch, now)
        self._check_references(site.id, batch, new)
        self._accept(site.id, uid, batch, new, now)
        return len(batch.e)

    def _new_views(self, site_id: int, batch: Batch, now: datetime) -> dict:
        """The batch's page views not stored yet, as rows (nothing is kept yet)."""
        new: dict[tuple[int, str], View] = {}
        for index, event in enumerate(batch.e):
            if not isinstance(event, PageViewEvent):
                continue
            url = page_url(index, event)
            key = (site_id, event.id)
            if key in self.views or key in new:
                continue  # re-sent: stored once
            new[key] = new_view(site_id, event, url, event_time(event.ts, now))
        return new

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
        first_at = event_time(min(e.ts for e in batch.e), now)
        visits.seen(self.visitors, visitor, first_at, now, bool(batch.i))
        accepted = Accepted(site_id, visitor, is_anonymous(uid), batch.o, [], [], [])
        for event in batch.e:
            key = (site_id, event.p)
            view = self.views[key]
            at = event_time(event.ts, now)
            if isinstance(event, PageViewEvent):
                if new.pop(key, None) is not None:  # its first sighting
                    accepted.new_views.append((view, at, view.row))
                    fold_sighting(
                        self.contents,
                        view.content_key,
                        view.row["_canon"],
                        view.row["title"],
                        at,
                    )
                continue
            accepted.touches.append((view, at))
            if isinstance(event, ClickEvent):
                self.clicks.setdefault((site_id, event.id), (event, view, at))
            elif isinstance(event, ScrollEvent):
                view.raise_scroll(event.d, scroll_pct(event.d, event.dh))
            elif isinstance(event, LayoutEvent):
                fold_layout(self.sections, view, event)
            elif isinstance(event, AttentionEvent):
                fold_attention(self.sections, view, event)
            elif isinstance(event, IdentifyEvent) and not accepted.anonymous:
                accepted.identifies.append((event, view, at))
        self.accepted.append(accepted)

    def replay_sessions(
        self, sql: RawSql, visitor_ids: dict, stored_visits: list[tuple]
    ) -> None:
        """Assign each new page view its visit as one-by-one ingestion would: the
        visitor's latest visit unless idle for 30 minutes, else a new one."""
        by_id, of_visitor = visits.index_visits(sql, stored_visits)
        for view in self.views.values():
            if view.row is None:
                view.visit = by_id.setdefault(
                    view.session_id, Visit(view.session_id, None, None)
                )
        for accepted in self.accepted:
            visitor_id = visitor_ids[accepted.visitor]
            for view, at, row in accepted.new_views:
                view.visit = visits.join_visit(
                    of_visitor.setdefault(visitor_id, []), at, row
                )
                view.visit.visitor_id = row["visitor_id"] = visitor_id
            for view, at in accepted.touches:
                view.visit.touch(at)
        self.visits = visits.visits_of(self.views.values())


# --- checks shared with the inbox's admission ------------------------------------


def site_for(session: Session, batch: Batch, meta: RequestMeta) -> sites.SiteInfo:
    """The batch's site, known, enabled and open to the page's origin."""
    site = sites.lookup(session, batch.s)
    if site is None:
        raise BeaconError(404, f"unknown site key {batch.s!r}")
    if not site.enabled:
        raise BeaconError(403, "this site is disabled")
    if not site.allows_origin(meta.origin):
        raise BeaconError(403, f"origin {meta.origin!r} is not allowed for this site")
    return site


def uid_for(
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


def page_url(index: int, event: PageViewEvent) -> str:
    """The page view's cleaned URL; refuses a page view that is not its own."""
    if event.id != event.p:
        raise BeaconError(400, f"e[{index}].p: a page view's p must equal its id")
    try:
        return clean_page_url(event.u)
    except BadUrl as exc:
        raise BeaconError(400, f"e[{index}].u: {exc}") from None
