"""Where people click, and the ``c`` events the snippet makes of it.

Owns: which reachable element a click lands on (dead-click candidates such as
images and prices, a button that does nothing, new-tab links, form fields), the
rage bursts, the link a reader leaves through, the point inside the element's
box, so that a click's selector, x/y and fx/fy agree with each other, and the
verdict the snippet's extension adds a second later: ``dd`` (dead) and ``er``
(a script error followed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from resonance.demo.draws import clamp, new_id, pick
from resonance.demo.reading import Clock, Reading
from resonance.demo.site import Element, PageLayout, Site

Event = dict
Point = tuple[int, int, float, float]

# Among clicks on things that are not links or buttons (dead-click candidates),
# images and prices draw the most; a heading is clicked while selecting text.
STATIC_WEIGHTS = {"img": 4.0, "h1": 1.0, "h2": 0.8, "h3": 0.6, "td": 1.0, "p": 2.5}
# Non-interactive elements together weigh this much against the page's buttons
# and new-tab links, however many headings a page has.
STATIC_PULL = 1.2
# A page with little to click on gets fewer clicks: each planned click happens
# with probability total / (total + CLICK_RESISTANCE) of the weights above.
CLICK_RESISTANCE = 2.0
RAGE_WEIGHTS = {"button": 6.0, "img": 3.0, "td": 1.5, "p": 1.5, "h2": 0.5}
EXIT_KIND_WEIGHTS = {"cta": 4.0, "link": 3.0, "nav": 1.5, "footer": 0.5}
TARGET_APPEAL = {
    "article": 1.4,
    "pricing": 1.2,
    "contact": 0.3,
    "blog": 0.8,
    "landing": 0.4,
    "thanks": 0.0,
}
# The form's submit button, which must not count as a do-nothing button.
SUBMIT = "#contact-submit"
# The extension arrives about a second after the page loads; clicks before it
# carry no verdict. It waits this long after a click for a DOM change, a
# scroll or an error before it queues the click.
EXTENSION_MS = 1_000
VERDICT_MS = 1_000
# The do-nothing button's script fails now and then: the error clicks to find.
ERROR_CHANCE = 0.15


@dataclass(frozen=True)
class OnPage:
    """The page view that clicks belong to."""

    pv_id: str
    site: Site
    layout: PageLayout  # as laid out at the visitor's width
    clock: Clock

    @property
    def kind(self) -> str:
        return self.site.kind(self.layout.path)


def is_navigation(element: Element, path: str) -> bool:
    """A same-site link that loads another page (not a new tab, not an anchor)."""
    href = element.href
    return bool(href and href.startswith("/") and urlsplit(href).path != path)


def is_anchor(element: Element, path: str) -> bool:
    """A link to a fragment of this very page: the browser scrolls, no page view."""
    href = element.href or ""
    return href.startswith(f"{path}#")


def mid_page_weight(element: Element, path: str, kind: str) -> float:
    """How likely a click that does not leave the page lands on ``element``."""
    if not element.interactive:
        return STATIC_WEIGHTS.get(element.tag, 0.6)
    if element.kind == "field":
        return 2.0 if kind == "contact" else 0.0
    if does_nothing(element):
        return 5.0  # "Watch the tour" does nothing: the demo's dead-end button
    if element.href and not element.href.startswith("/"):
        return 0.6  # external links open a new tab
    if is_anchor(element, path):
        return 0.8
    return 0.0


def does_nothing(element: Element) -> bool:
    """A button that is not the form's submit and leads nowhere."""
    return element.tag == "button" and element.selector != SUBMIT and not element.href


def exit_weight(element: Element, site: Site, path: str) -> float:
    """How likely the reader leaves through ``element`` to the page it links to."""
    if not is_navigation(element, path):
        return 0.0
    target = site.kind(link_path(element))
    return EXIT_KIND_WEIGHTS.get(element.kind, 1.0) * TARGET_APPEAL[target]


def link_path(element: Element) -> str:
    return urlsplit(element.href or "").path


def click_point(rng: random.Random, element: Element, keyboard: bool = False) -> Point:
    """Page x/y inside the element's box and the matching fractions fx/fy.

    People aim at the middle of buttons and anywhere along a line of text; a
    keyboard "click" is reported at the centre, as the snippet does.
    """
    left, top, width, height = element.box
    if keyboard:
        fx = fy = 0.5
    elif element.tag in ("a", "button", "input") or element.kind == "cta":
        fx = clamp(rng.gauss(0.5, 0.18), 0.03, 0.97)
        fy = clamp(rng.gauss(0.5, 0.2), 0.05, 0.95)
    else:
        fx, fy = rng.uniform(0.02, 0.98), rng.uniform(0.05, 0.95)
    x = left + min(width - 1, int(fx * width))
    y = top + min(height - 1, int(fy * height))
    if not keyboard:
        fx, fy = round((x - left) / width, 3), round((y - top) / height, 3)
    return x, y, fx, fy


def click_event(
    rng: random.Random,
    element: Element,
    page: OnPage,
    ts: int,
    point: Point | None = None,
    verdict: dict[str, bool] | None = None,
) -> Event:
    """A ``c`` event with every field the snippet fills for this element, and
    the extension's ``verdict`` (see :func:`verdict`)."""
    x, y, fx, fy = point or click_point(rng, element)
    event: Event = {
        "t": "c",
        "id": new_id(rng),
        "ts": ts,
        "p": page.pv_id,
        "x": x,
        "y": y,
        "vw": page.layout.width,
        "s": element.selector,
        "fx": fx,
        "fy": fy,
        "tg": element.tag,
        "in": element.interactive,
    }
    if element.text:
        event["tx"] = element.text[:60]
    if element.href:
        href = element.href
        event["h"] = page.site.origin + href if href.startswith("/") else href
    return event | (verdict or {})


def rage_points(rng: random.Random, element: Element) -> list[Point]:
    """3–4 clicks within a few pixels of each other, on one element."""
    x0, y0, _, _ = click_point(rng, element)
    left, top, width, height = element.box
    points = []
    for _ in range(rng.choice((3, 3, 4))):
        x = int(clamp(x0 + rng.randint(-3, 3), left, left + width - 1))
        y = int(clamp(y0 + rng.randint(-3, 3), top, top + height - 1))
        points.append(
            (x, y, round((x - left) / width, 3), round((y - top) / height, 3))
        )
    return points


def time_in_view(
    rng: random.Random, reading: Reading, element: Element
) -> tuple[int, int]:
    """Active ms at which the reader can see ``element`` (its middle in view),
    and how long after that the viewport stays where it is."""
    middle = element.box[1] + element.box[3] // 2
    steps = [s for s in reading.steps if s.top <= middle < s.top + reading.vh]
    step = rng.choice(steps) if steps else reading.steps[-1]
    at = step.start + int(step.dwell * rng.uniform(0.15, 0.9))
    return at, step.start + step.dwell - at


def verdict(
    rng: random.Random, element: Element, page: OnPage, active: int, still: int
) -> dict[str, bool]:
    """What the extension flags a click with: dead (``dd``) when the element is
    not interactive and nothing moved for a second (``still``: ms until the
    reader scrolls on), error (``er``) when the do-nothing button's script
    failed. None before the extension arrived, nor when the tab is hidden
    within the second (the click then goes at once, never as dead)."""
    idle_at = page.clock.idle_at
    if active < EXTENSION_MS or (
        idle_at is not None and 0 <= idle_at - active < VERDICT_MS
    ):
        return {}
    if does_nothing(element):
        return {"er": True} if rng.random() < ERROR_CHANCE else {}
    if not element.interactive and still >= VERDICT_MS:
        return {"dd": True}
    return {}


def mid_page_clicks(
    rng: random.Random, page: OnPage, reading: Reading, reachable: list[Element]
) -> list[Event]:
    """Clicks that do not leave the page: dead-click candidates, the tour button,
    new-tab links, form fields; now and then a rage burst."""
    path, kind = page.layout.path, page.kind
    weighted = [(el, mid_page_weight(el, path, kind)) for el in reachable]
    weighted = [(el, w) for el, w in weighted if w > 0]
    events: list[Event] = []
    if not weighted:
        return events
    static_total = sum(w for el, w in weighted if not el.interactive)
    weighted = [
        (el, w if el.interactive else w * STATIC_PULL / static_total)
        for el, w in weighted
    ]
    total = sum(w for _, w in weighted)
    for _ in range(pick(rng, [(0, 50), (1, 28), (2, 14), (3, 8)])):
        if rng.random() > total / (total + CLICK_RESISTANCE):
            continue
        element = pick(rng, weighted)
        active, still = time_in_view(rng, reading, element)
        flags = verdict(rng, element, page, active, still)
        events.append(click_event(rng, element, page, page.clock(active), None, flags))
    rage = [(el, RAGE_WEIGHTS.get(el.tag, 0.0)) for el, _ in weighted]
    rage = [(el, w) for el, w in rage if w > 0]
    if rage and rng.random() < 0.05:
        element = pick(rng, rage)
        active, still = time_in_view(rng, reading, element)
        ts = page.clock(active)
        points = rage_points(rng, element)
        # The burst's clicks wait for one verdict: a second after the last one.
        gaps = [rng.randint(90, 280) for _ in points[1:]]
        flags = verdict(rng, element, page, active, still - sum(gaps))
        for point, gap in zip(points, [*gaps, 0], strict=True):
            events.append(click_event(rng, element, page, ts, point, flags))
            ts += gap
    return events


def leave(
    rng: random.Random, page: OnPage, reachable: list[Element], to_contact: bool
) -> tuple[Element | None, str]:
    """The link clicked to go on, and the next href.

    Without a reachable link the visitor types an address or uses a bookmark.
    """
    element = _pick_exit(rng, page, reachable, to_contact)
    if element is None:
        return None, _typed_path(rng, page.site, page.layout.path)
    return element, element.href or ""


def _pick_exit(
    rng: random.Random, page: OnPage, reachable: list[Element], to_contact: bool
) -> Element | None:
    """The link the reader leaves through; a visitor about to convert heads for
    the contact page (the header's "Book a demo" is always within reach)."""
    site, path = page.site, page.layout.path
    weighted = [(el, exit_weight(el, site, path)) for el in reachable]
    weighted = [(el, w) for el, w in weighted if w > 0]
    if to_contact:
        weighted = [
            (el, w) for el, w in weighted if site.kind(link_path(el)) == "contact"
        ] or weighted
    return pick(rng, weighted) if weighted else None


def _typed_path(rng: random.Random, site: Site, path: str) -> str:
    """No link reachable: the reader uses the address bar or a bookmark."""
    return rng.choice([p for p in site.typed() if p != path])
