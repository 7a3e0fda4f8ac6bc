"""The plan of a group write: beacons checked and folded into rows, in Python.

Owns: validating each batch in arrival order against what is stored (one
``SELECT`` finds the page views a group refers to) and what the group adds, and
folding what each event does into the rows it touches: a new page view with its
scroll depth and active time already raised, a section row with its layout and
attention at once, the 30-minute session rule replayed in memory. Nothing here
writes an event table: ``tracker.ingest`` stores the plan in a handful of
statements. A batch refused here is left out of the plan, so it stores nothing
and takes no other batch down; so is an event refused here (a page view whose URL
cannot be stored and the events that belong to it, events of a page view never
stored), while the rest of its batch is stored.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    Event,
    IdentifyEvent,
    LayoutEvent,
    PageViewEvent,
    Parsed,
    Refusal,
    ScrollEvent,
    whole_refusal,
)
from tracker.bots import is_bot
from tracker.contents import ContentKey, fold_sighting
from tracker.event_rows import (
    Bands,
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
    """No event of a batch was stored, some because they refer to a page view that
    is not stored (nor in the batch): it may still be on its way."""


# Refusals only the stored page views can tell: the inbox learns of them when it
# stores a beacon, long after its answer (every other one was in the answer).
LATE_REASONS = frozenset({"unknown_page_view"})


@dataclass(frozen=True)
class PartlyStored:
    """A batch stored without some of its events: how many were stored, and
    which were refused and why (in the order of the body's ``e``)."""

    events: int
    refused: tuple[Refusal, ...]

    def waits_for_page_view(self) -> bool:
        """Whether some events were refused for a page view not stored yet."""
        return any(r.reason in LATE_REASONS for r in self.refused)


Outcome = int | PartlyStored  # the events stored, with the refusals if any


def outcome(stored: int, refused: Iterable[Refusal]) -> Outcome:
    """``stored`` alone when nothing was refused, else a :class:`PartlyStored`."""
    refused = tuple(sorted(refused, key=lambda r: r.index))
    return PartlyStored(stored, refused) if refused else stored


def refuse_all(refused: Iterable[Refusal]) -> BeaconError:
    """The error of a batch none of whose events can be stored: an
    :class:`UnknownPageView` when some wait for a page view (the writer may find
    it in the inbox), named by the first of those; else the first refusal."""
    refused = list(refused)
    waiting = [r for r in refused if r.reason in LATE_REASONS]
    if waiting:
        return UnknownPageView(400, whole_refusal(waiting))
    return BeaconError(400, whole_refusal(refused))


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
    parsed: Parsed
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
    bands: Bands = field(default_factory=dict)
    bots: list[tuple] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def check(
        self, parsed: Parsed, meta: RequestMeta, now: datetime
    ) -> Checked | Outcome:
        """Check a batch's site (``now`` naive UTC); a bot's beacon becomes a bot
        hit, apart from visitors (0 events)."""
        batch = parsed.batch
        site = site_for(self.session, batch, meta)
        if is_bot(meta.user_agent):
            url = next((e.u for e in batch.e if isinstance(e, PageViewEvent)), None)
            self.bots.append(bot_row(site.id, url, meta.user_agent, now))
            return outcome(0, parsed.refused)
        return Checked(site, parsed, meta, now)

    def look_up_views(self, checked: list[Checked]) -> None:
        """Load the stored page views the bodies refer to, in one SELECT."""
        wanted = {(c.site.id, e.p) for c in checked for e in c.parsed.batch.e}
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

    def add(self, checked: Checked) -> Outcome:
        """Validate one batch against what is stored and what the group adds, and
        fold its valid events into the group's rows; the number of events kept,
        with the refusals if any. Raises :class:`BeaconError` when none is left.
        """
        site, parsed, now = checked.site, checked.parsed, checked.now
        uid = uid_for(self.session, site, parsed.batch, checked.meta, now)
        kept, refused = screen_pages(parsed)
        new = self._new_views(site.id, kept, now)
        kept, unknown = self._known(site.id, kept, new)
        refused = [*parsed.refused, *refused, *unknown]
        if not kept:
            raise refuse_all(refused)
        self._accept(site.id, uid, parsed.batch, [e for _, e in kept], new, now)
        return outcome(len(kept), refused)

    def _new_views(
        self, site_id: int, kept: list[tuple[int, Event]], now: datetime
    ) -> dict:
        """The batch's page views not stored yet, as rows (nothing is kept yet)."""
        new: dict[tuple[int, str], View] = {}
        for _, event in kept:
            if not isinstance(event, PageViewEvent):
                continue
            key = (site_id, event.id)
            if key in self.views or key in new:
                continue  # re-sent: stored once
            url = clean_page_url(event.u)  # screened: it can be stored
            new[key] = new_view(site_id, event, url, event_time(event.ts, now))
        return new

    def _known(
        self, site_id: int, kept: list[tuple[int, Event]], new: dict
    ) -> tuple[list[tuple[int, Event]], list[Refusal]]:
        """The events whose page view is stored or in the batch, and a refusal
        for each of the others."""
        known: list[tuple[int, Event]] = []
        unknown: list[Refusal] = []
        for place, event in kept:
            key = (site_id, event.p)
            if key in self.views or key in new:
                known.append((place, event))
            else:
                unknown.append(
                    Refusal(
                        place,
                        event.id,
                        "p",
                        f"unknown page view {event.p!r}",
                        "unknown_page_view",
                    )
                )
        return known, unknown

    def _accept(
        self,
        site_id: int,
        uid: str,
        batch: Batch,
        events: list[Event],
        new: dict,
        now: datetime,
    ) -> None:
        """Fold a batch's valid events into the group's rows, in event order."""
        self.views.update(new)
        visitor = (site_id, uid)
        first_at = event_time(min(e.ts for e in events), now)
        visits.seen(self.visitors, visitor, first_at, now, bool(batch.i))
        accepted = Accepted(site_id, visitor, is_anonymous(uid), batch.o, [], [], [])
        for event in events:
            key = (site_id, event.p)
            view = self.views[key]
            at = event_time(event.ts, now)
            if isinstance(event, PageViewEvent):
                if new.pop(key, None) is not None:  # its first sighting
                    accepted.new_views.append((view, at, view.row))
                    visits.viewed(self.visitors, visitor, at)
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
                fold_attention(self.sections, self.bands, view, event)
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


def screen_pages(parsed: Parsed) -> tuple[list[tuple[int, Event]], list[Refusal]]:
    """The batch's events but its page views that cannot be stored (a URL that
    is not http(s), a ``p`` that is not their own) and the events that belong to
    those; a refusal for each of them. Needs nothing stored: the inbox screens a
    beacon so on arrival, and its answer names these refusals."""
    refused: list[Refusal] = []
    bad: dict[str, int] = {}  # a refused page view's id → its place
    for place, event in parsed.events():
        if isinstance(event, PageViewEvent):
            problem = page_problem(event)
            if problem is not None:
                refused.append(Refusal(place, event.id, *problem))
                bad.setdefault(event.id, place)
    if not bad:
        return list(parsed.events()), []
    kept: list[tuple[int, Event]] = []
    for place, event in parsed.events():
        if isinstance(event, PageViewEvent) and event.id in bad:
            continue
        if event.p in bad:
            message = f"its page view e[{bad[event.p]}] was refused"
            refused.append(Refusal(place, event.id, "p", message, "page_view_refused"))
        else:
            kept.append((place, event))
    return kept, refused


def page_problem(event: PageViewEvent) -> tuple[str, str] | None:
    """Why a page view cannot be stored, as (field, message); None if it can."""
    if event.id != event.p:
        return "p", "a page view's p must equal its id"
    try:
        clean_page_url(event.u)
    except BadUrl as exc:
        return "u", str(exc)
    return None
