"""The traffic schedule over days: when each visitor comes, from where, and the
page views of each of its sessions.

Owns: session start times on the visitor's working hours (weekdays preferred),
spaced so that no two sessions of a visitor overlap and none ends in the future,
the source of each session, the walk from page to page (each later page view
referred by the one before), which session a planned conversion falls in, and
the visitor id each batch carries (a fresh one when a colleague identifies in a
shared browser). A visitor's batches come out in the order it sends them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from resonance.demo.draws import clamp, ms, new_id, pick
from resonance.demo.pageview import Arrival, Visit, simulate_page_view
from resonance.demo.site import Site
from resonance.demo.sources import (
    FIRST_SESSION_SOURCES,
    RETURN_SESSION_SOURCES,
    SOURCES,
    Source,
    landing_path,
    landing_url,
)
from resonance.demo.visitors import VisitorPlan

Event = dict[str, Any]
Batch = dict[str, Any]
Meta = dict[str, str]

SESSION_GAP = timedelta(minutes=30)
MAX_PAGES_PER_SESSION = 6
# No new page view starts after this much of a session; one page view lasts at
# most ~23 minutes (12 active + 10 hidden + form), so a session ends within
# SESSION_SPAN. Sessions start at least SESSION_SPAN + SESSION_GAP apart and no
# later than LATEST_START before ``now``, so none overlap and none is in the future.
SESSION_BUDGET = timedelta(hours=2)
SESSION_SPAN = timedelta(hours=2, minutes=30)
LATEST_START = timedelta(hours=3)
EXIT_CHANCE = {
    "landing": 0.45,
    "blog": 0.35,
    "article": 0.55,
    "pricing": 0.45,
    "contact": 0.5,
    "thanks": 0.6,
}


def session_starts(
    rng: random.Random, plan: VisitorPlan, start: datetime, end: datetime
) -> list[datetime]:
    """Start times of the visitor's sessions, on working hours, oldest first.

    At least one session always fits; later ones that would not fit before
    ``end`` once spaced SESSION_SPAN + SESSION_GAP apart are dropped.
    """
    moments = sorted(
        _session_moment(rng, plan, start, end) for _ in range(plan.sessions)
    )
    spacing = SESSION_SPAN + SESSION_GAP
    starts: list[datetime] = []
    for moment in moments:
        if starts and moment < starts[-1] + spacing:
            moment = starts[-1] + spacing + timedelta(minutes=rng.randint(5, 240))
        if moment <= end:
            starts.append(moment)
    return starts


def _session_moment(
    rng: random.Random, plan: VisitorPlan, start: datetime, end: datetime
) -> datetime:
    """A moment in [start, end] on the visitor's working hours, weekdays preferred."""
    days = (end - start).days
    for _ in range(100):
        offset = rng.randint(0, days)
        day = (start + timedelta(days=offset)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        if day.weekday() >= 5 and rng.random() > 0.33:
            continue
        moment = day + timedelta(
            hours=plan.day_start + clamp(rng.gauss(4.5, 2.6), 0, 12)
        )
        if start <= moment <= end:
            return moment
    return start + (end - start) * rng.random()


def simulate_session(
    rng: random.Random,
    visit: Visit,
    source: Source,
    start: int,
) -> list[list[Event]]:
    """All batches of one session: page views a few minutes apart, each later
    one referred by the one before."""
    site = visit.site
    path = landing_path(rng, source, site)
    url = landing_url(rng, source, site, path)
    arrival = Arrival(path, url, source.referrer, start)
    batches: list[list[Event]] = []
    budget_end = start + int(SESSION_BUDGET.total_seconds() * 1000)
    for index in range(MAX_PAGES_PER_SESSION):
        kind = site.kind(arrival.path)
        converting = visit.submit_email is not None
        to_contact = converting and (index >= 2 or rng.random() < 0.4)
        last = index == MAX_PAGES_PER_SESSION - 1
        stay = not last and (converting or rng.random() > EXIT_CHANCE[kind])
        view = simulate_page_view(rng, visit, arrival, stay, to_contact)
        batches += view.batches
        if view.identified:
            visit.submit_email = None
        t = view.end + rng.randint(250, 2500)
        if view.next_href is None or t > budget_end:
            break
        parts = urlsplit(view.next_href)
        url = f"{site.origin}{parts.path}"
        arrival = Arrival(parts.path, url, arrival.url, t, parts.fragment or None)
    return batches


def simulate_visitor(
    rng: random.Random,
    plan: VisitorPlan,
    window: tuple[datetime, datetime],
    site: Site,
) -> Iterator[tuple[int, Batch, Meta]]:
    """Every batch of one visitor, in the order it sends them, with the wall ms
    at which it does; the batch's site key is left empty for the caller."""
    meta = {"ip": plan.ip, "user_agent": plan.user_agent}
    speed = clamp(math.exp(rng.gauss(0, 0.25)), 0.55, 1.8)
    starts = session_starts(rng, plan, *window)
    identities = _fit_identities(plan.identities, len(starts))
    browser = Browser(None if plan.anonymous else plan.vid, plan.internal)
    for number, started in enumerate(starts):
        weights = FIRST_SESSION_SOURCES if number == 0 else RETURN_SESSION_SOURCES
        source = SOURCES["direct"] if plan.internal else SOURCES[pick(rng, weights)]
        visit = Visit(plan, site, speed, submit_email=identities.get(number))
        for events in simulate_session(rng, visit, source, ms(started)):
            for batch in browser.batches(rng, events):
                yield batch["e"][-1]["ts"], batch, meta


@dataclass
class Browser:
    """The visitor id a browser stores and whom it belongs to, as the snippet's
    extension keeps them (``rs_vid``, ``rs_who``)."""

    vid: str | None  # None: the visitor may not be given a stored id
    internal: bool
    who: str | None = None

    def batches(self, rng: random.Random, events: list[Event]) -> Iterator[Batch]:
        """The batch of ``events``, cut in two when a different person identifies
        in this browser: the events before stay with the old id, the rest go
        under a fresh id that names the old one as ``o``, once."""
        cut = next((i for i, e in enumerate(events) if e["t"] == "id"), None)
        email = None if cut is None else events[cut]["em"]
        if email is None or self.vid is None or self.who in (None, email):
            self.who = email or self.who
            yield self._batch(events)
            return
        if cut:
            yield self._batch(events[:cut])
        previous, self.vid, self.who = self.vid, new_id(rng), email
        yield self._batch(events[cut:], previous)

    def _batch(self, events: list[Event], previous: str | None = None) -> Batch:
        batch: Batch = {"s": ""}
        if self.vid is not None:
            batch["v"] = self.vid
        if previous is not None:
            batch["o"] = previous
        if self.internal:
            batch["i"] = 1
        batch["e"] = events
        return batch


def _fit_identities(planned: dict[int, str], sessions: int) -> dict[int, str]:
    """Move conversions planned for sessions that did not fit into the last one.

    Keeps the share of identified visitors exact whatever the window length; when
    two conversions would share a session, the later one is dropped.
    """
    fitted: dict[int, str] = {}
    for number in sorted(planned):
        fitted.setdefault(min(number, sessions - 1), planned[number])
    return fitted
