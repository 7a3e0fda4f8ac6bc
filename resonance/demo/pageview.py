"""One page view turned into the batches the snippet would send (docs/beacon.md).

Owns: the ``pv`` and ``l`` events at load, the clicks of the reading, the
contact form (or, on a site without one, a sign-up box) that identifies, the
cumulative ``s`` and ``a`` flushed when the tab is hidden and at pagehide, and
how these events split into batches: every event in exactly one batch, each
batch oldest first and newer than the one before, as a real snippet's flushes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from resonance.demo.clicks import (
    SUBMIT,
    OnPage,
    click_event,
    click_point,
    leave,
    mid_page_clicks,
)
from resonance.demo.draws import new_id
from resonance.demo.people import person_of
from resonance.demo.reading import (
    Clock,
    Reading,
    anchor_top,
    read_page,
    scroll_target,
    wall_clock,
)
from resonance.demo.site import PageLayout, Site
from resonance.demo.visitors import VisitorPlan

Event = dict
MAX_BATCH_EVENTS = 50
# Clicks this close to pagehide are flushed with it, the rest with the first batch.
LATE_CLICK_MS = 10_000
FORM_FIELDS = ("#contact-name", "#contact-email", "#contact-company")
# The fields whose value the snippet sends with the form's identify.
FORM_KEYS = {"#contact-name": "nm", "#contact-company": "co"}


@dataclass
class Visit:
    """What a page view needs to know about its visitor and session."""

    plan: VisitorPlan
    site: Site
    speed: float
    submit_email: str | None = None  # identify with it on the form's page


@dataclass(frozen=True)
class Arrival:
    """How a page view starts: which URL, from where, when, scrolled to what."""

    path: str
    url: str
    referrer: str | None
    t0: int
    anchor: str | None = None


@dataclass(frozen=True)
class PageView:
    batches: list[list[Event]]
    end: int  # wall ms of pagehide
    next_href: str | None  # where the visitor goes next, None = leaves the site
    identified: bool  # the visitor gave its e-mail on this page


def identifies_here(site: Site, path: str) -> bool:
    """On the contact page; anywhere on a site without one (a sign-up box)."""
    return "contact" not in site.special or site.kind(path) == "contact"


def simulate_page_view(
    rng: random.Random,
    visit: Visit,
    arrival: Arrival,
    stay: bool,
    to_contact: bool,
) -> PageView:
    """Events of one page view, split into the batches the snippet would send."""
    site = visit.site
    layout = site.layout(arrival.path, visit.plan.device.width)
    here = identifies_here(site, arrival.path)
    submit = visit.submit_email if here else None
    reading = _read(rng, visit, layout, arrival, submit is not None)
    pv_id = new_id(rng)
    events = _opening(rng, pv_id, arrival, layout, visit.plan, reading)
    page = OnPage(pv_id, site, layout, wall_clock(rng, arrival.t0, reading))
    depth = reading.depth()
    reachable = [el for el in layout.elements if el.box[1] < depth]
    events += mid_page_clicks(rng, page, reading, reachable)
    end_active = reading.active_ms + rng.randint(300, 4000)
    next_href: str | None = None
    if submit:
        form_events, end_active = _fill_form(rng, page, end_active, submit)
        events += form_events
        next_href = site.special.get("thanks")
    if next_href is None and stay:
        element, next_href = leave(rng, page, reachable, to_contact)
        if element is not None:
            events.append(click_event(rng, element, page, page.clock(end_active)))
            end_active += rng.randint(60, 400)
    # A rage burst late in the visit may run past the planned end.
    end = max(page.clock(end_active), max(e["ts"] for e in events) + rng.randint(5, 60))
    events += _pagehide_events(rng, pv_id, end, reading, None)
    hidden = _hidden_flush(rng, pv_id, reading, page.clock)
    return PageView(_split(events, hidden, end), end, next_href, submit is not None)


def _read(
    rng: random.Random,
    visit: Visit,
    layout: PageLayout,
    arrival: Arrival,
    submitting: bool,
) -> Reading:
    """The reading of this page view; a form filler scrolls at least to submit."""
    submit = layout.element(SUBMIT)
    min_depth = submit.bottom + 40 if submitting and submit else 0
    start_top = anchor_top(layout, arrival.anchor) if arrival.anchor else 0
    target = scroll_target(rng, visit.site.kind(arrival.path))
    return read_page(
        rng, layout, visit.plan.vh, target, visit.speed, min_depth, start_top
    )


def _opening(
    rng: random.Random,
    pv_id: str,
    arrival: Arrival,
    layout: PageLayout,
    plan: VisitorPlan,
    reading: Reading,
) -> list[Event]:
    """The ``pv`` event and, when the page has headings, its ``l`` event."""
    events = [_pageview(pv_id, arrival, layout, plan, reading)]
    if layout.sections:
        ts = arrival.t0 + rng.randint(20, 250)
        events.append(_layout_event(rng, pv_id, ts, layout, reading))
    return events


def _hidden_flush(
    rng: random.Random, pv_id: str, reading: Reading, clock: Clock
) -> tuple[int, list[Event]] | None:
    """When the tab is hidden the snippet flushes ``s`` and ``a`` so far."""
    if clock.idle_at is None:
        return None
    upto = next(i for i, s in enumerate(reading.steps) if s.start >= clock.idle_at)
    ts = clock.start + clock.idle_at + rng.randint(1, 50)
    return ts, _pagehide_events(rng, pv_id, ts, reading, upto)


def _pageview(
    pv_id: str,
    arrival: Arrival,
    layout: PageLayout,
    plan: VisitorPlan,
    reading: Reading,
) -> Event:
    event: Event = {"t": "pv", "id": pv_id, "ts": arrival.t0, "p": pv_id}
    event["u"] = arrival.url
    if arrival.referrer:
        event["r"] = arrival.referrer
    event.update(ti=layout.title, vw=plan.device.width, vh=plan.vh, dh=reading.dh)
    return event


def _layout_event(
    rng: random.Random, pv_id: str, ts: int, layout: PageLayout, reading: Reading
) -> Event:
    """``l``: sections as measured; the last runs to this visitor's document end."""
    sec = [
        [s.level, s.heading[:200], top, height]
        for s, (top, height) in zip(layout.sections, reading.spans, strict=True)
    ]
    return {"t": "l", "id": new_id(rng), "ts": ts, "p": pv_id, "sec": sec}


def _fill_form(
    rng: random.Random, page: OnPage, start: int, email: str
) -> tuple[list[Event], int]:
    """Click into the fields, submit, identify: the ``data-resonance-identify``
    form, whose identify carries the name and company typed (``nm``, ``co``). A
    page without the form has a sign-up box that calls ``identify`` with the
    address alone."""
    layout, clock = page.layout, page.clock
    events: list[Event] = []
    typed: dict[str, str] = {}
    name, company = person_of(email)
    active = start
    for selector in FORM_FIELDS:
        element = layout.element(selector)
        if element is None or (selector == FORM_FIELDS[-1] and rng.random() < 0.3):
            continue
        active += rng.randint(2500, 9000)
        events.append(click_event(rng, element, page, clock(active)))
        if key := FORM_KEYS.get(selector):
            typed[key] = {"nm": name, "co": company}[key]
    active += rng.randint(2000, 6000)
    submit = layout.element(SUBMIT)
    if submit is not None:
        keyboard = rng.random() < 0.2  # Enter in the last field
        point = click_point(rng, submit, keyboard=keyboard)
        events.append(click_event(rng, submit, page, clock(active), point))
    active += rng.randint(2, 30)
    identify = {"t": "id", "id": new_id(rng), "ts": clock(active), "p": page.pv_id}
    events.append({**identify, "em": email, **typed})
    return events, active + rng.randint(80, 400)


def _pagehide_events(
    rng: random.Random, pv_id: str, ts: int, reading: Reading, upto: int | None
) -> list[Event]:
    """The cumulative ``s`` and ``a`` the snippet flushes when the page is hidden."""
    depth = reading.depth(upto)
    seen = reading.attention(upto)
    scroll = {
        "t": "s",
        "id": new_id(rng),
        "ts": ts,
        "p": pv_id,
        "d": depth,
        "dh": reading.dh,
    }
    attention = {
        "t": "a",
        "id": new_id(rng),
        "ts": ts + 1,
        "p": pv_id,
        "ms": min(seen.ms, 86_400_000),
        "a": seen.sections,
        "b": seen.bands,
    }
    return [scroll, attention]


def _split(
    events: list[Event], mid: tuple[int, list[Event]] | None, end: int
) -> list[list[Event]]:
    """First batch (pv, l, early clicks), optional hidden-tab flush, pagehide batch.

    Every event falls in exactly one batch, each batch is oldest first, and each
    batch is newer than the one before, as a real snippet's flushes are.
    """
    opening = [e for e in events if e["t"] in ("pv", "l")]
    pagehide = [e for e in events if e["t"] in ("s", "a")]
    rest = sorted((e for e in events if e["t"] not in ("pv", "l", "s", "a")), key=_ts)
    cut = mid[0] if mid else end - LATE_CLICK_MS
    batches = [opening + [e for e in rest if e["ts"] < cut]]
    if mid:
        batches.append(mid[1])
    batches.append([e for e in rest if e["ts"] >= cut] + pagehide)
    return [chunk for batch in batches for chunk in _chunks(sorted(batch, key=_ts))]


def _ts(event: Event) -> int:
    return event["ts"]


def _chunks(events: list[Event]) -> Iterator[list[Event]]:
    for start in range(0, len(events), MAX_BATCH_EVENTS):
        yield events[start : start + MAX_BATCH_EVENTS]
