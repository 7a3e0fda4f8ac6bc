"""Synthetic traffic for the demo site: beacons exactly as the snippet sends them.

Owns: inventing a month of believable visitors (devices, sources, sessions, reading,
clicks, rage clicks, form fills, internal staff) and turning them into the batches
of ``docs/beacon.md``, plus :func:`seed_demo`, which pushes those batches through
the collector's own ``ingest``. Demo data therefore takes the same path as real
beacons and exercises the same code; nothing here writes rows.

Clicks land on real elements: ``layout.json`` (made by ``scripts/demo_layout.py``
in headless Chromium) holds every page's sections and element boxes at each device
width used here, so a click's selector, x/y and fx/fy agree with each other.

Deterministic: everything random comes from one ``random.Random(seed)``, and the
clock only from ``now``. Must not import Flask or the dashboard; the collector is
imported inside :func:`seed_demo` only, so the generator stays a pure function.
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as DbSession

LAYOUT_PATH = Path(__file__).with_name("layout.json")
# Where `resonance serve` runs by default; only the page URLs carry it.
DEMO_ORIGIN = "http://127.0.0.1:8000"

ID_ALPHABET = string.ascii_letters + string.digits + "-_"
ID_LENGTH = 16
MAX_BATCH_EVENTS = 50
WORDS_PER_MINUTE = 230
SESSION_GAP = timedelta(minutes=30)
MAX_PAGES_PER_SESSION = 6
MAX_ACTIVE_MS = 12 * 60_000
# No new page view starts after this much of a session; one page view lasts at
# most ~23 minutes (12 active + 10 hidden + form), so a session ends within
# SESSION_SPAN. Sessions start at least SESSION_SPAN + SESSION_GAP apart and no
# later than LATEST_START before ``now``, so none overlap and none is in the future.
SESSION_BUDGET = timedelta(hours=2)
SESSION_SPAN = timedelta(hours=2, minutes=30)
LATEST_START = timedelta(hours=3)
# Clicks this close to pagehide are flushed with it, the rest with the first batch.
LATE_CLICK_MS = 10_000

IDENTIFIED_SHARE = 0.12
INTERNAL_SHARE = 0.015

Event = dict[str, Any]
Batch = dict[str, Any]
Meta = dict[str, str]


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """A clickable element of a page at one width, as the snippet would see it."""

    selector: str
    tag: str
    kind: str  # cta, link, nav, footer, field, static
    text: str
    href: str | None
    interactive: bool
    box: tuple[int, int, int, int]  # left, top, width, height in page px

    @property
    def bottom(self) -> int:
        return self.box[1] + self.box[3]


@dataclass(frozen=True)
class Section:
    level: int
    heading: str
    top: int
    height: int
    words: int


@dataclass(frozen=True)
class PageLayout:
    path: str
    title: str
    width: int
    dh: int
    sections: tuple[Section, ...]
    elements: tuple[Element, ...]

    def element(self, selector: str) -> Element | None:
        return next((el for el in self.elements if el.selector == selector), None)


@cache
def layouts() -> dict[str, dict[int, PageLayout]]:
    """``layout.json`` as typed objects: ``layouts()[path][width]``."""
    data = json.loads(LAYOUT_PATH.read_text(encoding="utf-8"))
    result: dict[str, dict[int, PageLayout]] = {}
    for path, page in data["pages"].items():
        result[path] = {}
        for width, layout in page["layouts"].items():
            elements = tuple(
                Element(
                    selector=el["s"],
                    tag=el["tg"],
                    kind=el["k"],
                    text=el["tx"],
                    href=el["h"],
                    interactive=el["in"],
                    box=tuple(box),
                )
                for el, box in zip(page["elements"], layout["box"], strict=True)
                if box is not None and box[2] > 0 and box[3] > 0
            )
            sections = tuple(Section(*sec) for sec in layout["sec"])
            result[path][int(width)] = PageLayout(
                path, page["title"], int(width), layout["dh"], sections, elements
            )
    return result


def page_kind(path: str) -> str:
    """landing, blog, article, pricing, contact or thanks."""
    if path == "/demo/":
        return "landing"
    if path == "/demo/blog/":
        return "blog"
    if path.startswith("/demo/blog/"):
        return "article"
    return path.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------
# Who visits: devices, sources, people
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    kind: str
    width: int
    heights: tuple[int, ...]  # typical innerHeight values at that width
    share: float


# ≈55 % desktop, 15 % tablet, 30 % phone.
DEVICES = (
    Device("desktop", 1440, (789, 821, 900), 0.32),
    Device("desktop", 1280, (609, 689, 720), 0.23),
    Device("tablet", 768, (954, 1024), 0.09),
    Device("tablet", 820, (1106, 1180), 0.06),
    Device("mobile", 375, (553, 635, 667), 0.10),
    Device("mobile", 390, (664, 763, 844), 0.12),
    Device("mobile", 414, (715, 736, 896), 0.08),
)

_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
USER_AGENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "desktop": (
        (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36", 0.36),
        (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_CHROME} Safari/537.36",
            0.2,
        ),
        (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} "
            "Version/18.1 Safari/605.1.15",
            0.17,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
            "Firefox/133.0",
            0.09,
        ),
        (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36 "
            "Edg/131.0.0.0",
            0.13,
        ),
        (f"Mozilla/5.0 (X11; Linux x86_64) {_CHROME} Safari/537.36", 0.05),
    ),
    "tablet": (
        (
            f"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) {_SAFARI} Version/17.6 "
            "Mobile/15E148 Safari/604.1",
            0.65,
        ),
        (f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_CHROME} Safari/537.36", 0.35),
    ),
    "mobile": (
        (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_SAFARI} "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            0.38,
        ),
        (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) {_SAFARI} "
            "Version/17.6 Mobile/15E148 Safari/604.1",
            0.12,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            0.38,
        ),
        (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_SAFARI} "
            "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            0.08,
        ),
        ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", 0.04),
    ),
}


@dataclass(frozen=True)
class Source:
    """Where a session comes from: referrer, utm keys, and the pages it lands on."""

    name: str
    referrer: str | None
    utm: tuple[tuple[str, str], ...]
    landings: tuple[tuple[str, float], ...]  # page kind (or path) and weight


_ARTICLE_LANDINGS = (("article", 0.75), ("landing", 0.15), ("blog", 0.1))
SOURCES = {
    "google": Source(
        "google", "https://www.google.com/", (), (*_ARTICLE_LANDINGS, ("pricing", 0.08))
    ),
    "google_ads": Source(
        "google_ads",
        "https://www.google.com/",
        (
            ("utm_source", "google"),
            ("utm_medium", "cpc"),
            ("utm_campaign", "content-analytics"),
        ),
        (("landing", 0.65), ("pricing", 0.35)),
    ),
    "bing": Source("bing", "https://www.bing.com/", (), _ARTICLE_LANDINGS),
    "linkedin": Source(
        "linkedin",
        "https://www.linkedin.com/",
        (("utm_source", "linkedin"), ("utm_medium", "social")),
        (("article", 0.85), ("landing", 0.15)),
    ),
    "newsletter": Source(
        "newsletter",
        None,  # mail clients send no referrer
        (("utm_source", "newsletter"), ("utm_medium", "email")),
        (("article", 0.9), ("pricing", 0.1)),
    ),
    "referral": Source(
        "referral",
        "https://news.ycombinator.com/",
        (),
        (("article", 0.6), ("landing", 0.4)),
    ),
    "direct": Source(
        "direct", None, (), (("landing", 0.6), ("pricing", 0.2), ("blog", 0.2))
    ),
}
FIRST_SESSION_SOURCES = (
    ("google", 0.31),
    ("google_ads", 0.06),
    ("bing", 0.04),
    ("linkedin", 0.18),
    ("newsletter", 0.08),
    ("referral", 0.06),
    ("direct", 0.27),
)
RETURN_SESSION_SOURCES = (
    ("direct", 0.45),
    ("google", 0.18),
    ("newsletter", 0.22),
    ("linkedin", 0.1),
    ("bing", 0.05),
)
NEWSLETTER_CAMPAIGNS = ("september-digest", "october-digest", "november-digest")
# Some articles are more popular than others, so content comparisons show a spread.
ARTICLE_POPULARITY = {
    "/demo/blog/lead-scoring-that-sales-trusts": 0.34,
    "/demo/blog/what-sales-wishes-marketing-knew": 0.26,
    "/demo/blog/content-audit-playbook": 0.24,
    "/demo/blog/mql-to-sql-in-30-days": 0.16,
}

# Fictional companies on the reserved .example domain (RFC 2606), so demo leads
# can never be e-mailed by a CRM integration by mistake.
COMPANIES = (
    "Harborline", "Quillmark", "Fernhollow", "Brightwater Labs", "Copperleaf",
    "Northgate Freight", "Silverpine Health", "Bluefjord", "Tessellate",
    "Marigold Foods", "Ironbark Systems", "Lumen Grove", "Cobaltway", "Driftwood Data",
    "Kestrel Analytics", "Orchard Lane", "Pinecrest Insurance", "Redwing Logistics",
    "Saltmarsh Media", "Thistle Bank", "Umbra Security", "Vantage Peak", "Willowmere",
    "Yarrow Labs", "Zephyr Cloud", "Amberfield", "Beacon Ridge", "Cinder & Co",
    "Dovetail Works", "Eastwind Energy", "Foxglove Retail", "Granite Arc",
    "Hollowbrook", "Indigo Harbor", "Juniper Legal", "Kinfolk Travel", "Larkspur HR",
    "Meadowlark Edu", "Nettlefield", "Oakhaven Capital", "Parallax Robotics",
    "Quarry Hill", "Rivermint", "Sable Systems", "Tidewater Ports", "Upland Outdoor",
    "Vellum Print", "Wrenfield Pharma", "Xylo Audio", "Yellowtail Games",
    "Zinnia Home", "Alder & Finch", "Bramble Tech", "Crestline Mfg", "Duskfall Studios",
    "Ember Analytics", "Flintlock Safety", "Glasswing Apps", "Heron Point", "Ivystone",
)  # fmt: skip
FIRST_NAMES = (
    "amira", "ben", "carla", "daniel", "elif", "felix", "grace", "hiro", "ines",
    "jonas", "kavya", "liam", "maya", "nikolai", "olivia", "pedro", "quinn", "rosa",
    "samir", "tara", "uma", "victor", "wen", "ximena", "yusuf", "zoe", "anna", "chen",
    "david", "emma", "farah", "george", "hannah", "ivan", "julia", "kofi", "lucia",
    "marcus", "nadia", "oscar", "priya", "rafael", "sofia", "thomas",
)  # fmt: skip
LAST_NAMES = (
    "castellanos", "whitfield", "okafor", "lindqvist", "raman", "nguyen", "schmidt",
    "rossi", "kowalski", "haddad", "tanaka", "oconnor", "mbeki", "johansson", "silva",
    "dubois", "patel", "murphy", "novak", "alvarez", "fischer", "kim", "larsen",
    "moreau", "ibrahim", "walsh", "costa", "bauer", "yilmaz", "hughes", "park",
    "mendes", "fraser", "ito", "varga", "becker", "adeyemi", "quinn", "horvat",
)  # fmt: skip


def company_domain(company: str) -> str:
    slug = "".join(ch for ch in company.lower() if ch.isalnum() or ch == " ")
    return "-".join(slug.split()) + ".example"


# --------------------------------------------------------------------------
# Randomness helpers
# --------------------------------------------------------------------------


def new_id(rng: random.Random) -> str:
    """A 16-character id of ``[A-Za-z0-9_-]``, like the snippet's."""
    return "".join(rng.choices(ID_ALPHABET, k=ID_LENGTH))


T = TypeVar("T")


def pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# --------------------------------------------------------------------------
# Visitor plans
# --------------------------------------------------------------------------


@dataclass
class VisitorPlan:
    """Everything decided about a visitor before its sessions are simulated."""

    index: int
    vid: str
    device: Device
    vh: int
    user_agent: str
    ip: str
    internal: bool = False
    sessions: int = 1
    # Session index → e-mail the visitor gives in the contact form that session.
    identities: dict[int, str] = field(default_factory=dict)
    # Hours (UTC) of the working day of the visitor's region.
    day_start: float = 7.0


def plan_visitors(rng: random.Random, count: int) -> list[VisitorPlan]:
    """Devices, sessions, internal staff and who identifies as whom."""
    plans = [_new_plan(rng, index) for index in range(count)]
    internal_count = round(count * INTERNAL_SHARE) if count >= 20 else 0
    order = rng.sample(range(count), count)
    for index in order[:internal_count]:
        plans[index].internal = True
        plans[index].sessions = rng.randint(3, 6)
        plans[index].device = DEVICES[rng.randrange(2)]
        plans[index].vh = rng.choice(plans[index].device.heights)
    identified = [plans[i] for i in order[internal_count:]][
        : round(count * IDENTIFIED_SHARE)
    ]
    assign_identities(rng, identified)
    return plans


def _new_plan(rng: random.Random, index: int) -> VisitorPlan:
    device = pick(rng, [(d, d.share) for d in DEVICES])
    return VisitorPlan(
        index=index,
        vid=new_id(rng),
        device=device,
        vh=rng.choice(device.heights),
        user_agent=pick(rng, USER_AGENTS[device.kind]),
        ip=f"{rng.choice(('203.0.113', '198.51.100'))}.{rng.randint(1, 254)}",
        sessions=pick(rng, list(zip(range(1, 7), (52, 22, 11, 7, 5, 3), strict=True))),
        # Europe starts its day around 07 UTC, the Americas around 13 UTC.
        day_start=rng.choice((6.5, 7.5, 8.0, 12.5, 13.5, 15.0)),
    )


def assign_identities(rng: random.Random, visitors: list[VisitorPlan]) -> None:
    """About one in eight visitors fills in the contact form at some point.

    Includes people who fill it in again on a second device (same e-mail, another
    visitor id) and one shared browser where a colleague identifies later with a
    different address: the cases identity linking must get right.
    """
    if not visitors:
        return
    people = make_emails(rng, len(visitors))
    pairs = round(len(visitors) * 0.06) if len(visitors) >= 6 else 0
    shared = 1 if len(visitors) >= 4 else 0
    cursor = 0
    for pair in range(pairs):
        first, second = visitors[2 * pair], visitors[2 * pair + 1]
        email = people[cursor]
        cursor += 1
        second.device = _other_device(rng, first.device)
        second.vh = rng.choice(second.device.heights)
        second.user_agent = pick(rng, USER_AGENTS[second.device.kind])
        if rng.random() < 0.5:  # same office network
            second.ip = first.ip
        second.day_start = first.day_start
        for plan in (first, second):
            plan.sessions = max(plan.sessions, rng.randint(1, 4))
            plan.identities = {_convert_session(rng, plan.sessions): email}
    rest = visitors[2 * pairs :]
    if shared:
        browser = rest[0]
        browser.sessions = max(browser.sessions, rng.randint(3, 5))
        browser.identities = {
            0: people[cursor],
            browser.sessions - 1: people[cursor + 1],
        }
        cursor += 2
        rest = rest[1:]
    for plan in rest:
        plan.sessions = max(plan.sessions, pick(rng, [(1, 3), (2, 4), (3, 2), (4, 1)]))
        plan.identities = {_convert_session(rng, plan.sessions): people[cursor]}
        cursor += 1


def _other_device(rng: random.Random, device: Device) -> Device:
    others = [d for d in DEVICES if d.kind != device.kind]
    return pick(rng, [(d, d.share) for d in others])


def _convert_session(rng: random.Random, sessions: int) -> int:
    """Mostly the last session: people read first and fill in the form later."""
    if sessions == 1 or rng.random() < 0.65:
        return sessions - 1
    return rng.randrange(sessions - 1)


def make_emails(rng: random.Random, count: int) -> list[str]:
    """Distinct ``first.last@company.example`` addresses over ~60 companies.

    Companies are drawn with Zipf-like weights, so a few accounts have several
    readers: that is what account-level sales views are about.
    """
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(COMPANIES))]
    emails: list[str] = []
    seen: set[str] = set()
    while len(emails) < count + 2:  # two spare for the shared browser
        company = rng.choices(COMPANIES, weights)[0]
        local = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
        email = f"{local}@{company_domain(company)}"
        if email not in seen:
            seen.add(email)
            emails.append(email)
    return emails


# --------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------


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


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --------------------------------------------------------------------------
# Reading a page
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """The viewport rests at ``top`` for ``dwell`` active ms, from ``start``."""

    top: int
    start: int
    dwell: int
    visible: tuple[int, ...]  # section indexes counted as in view


@dataclass(frozen=True)
class Reading:
    steps: tuple[Step, ...]
    vh: int
    dh: int

    @property
    def active_ms(self) -> int:
        return self.steps[-1].start + self.steps[-1].dwell

    def depth(self, upto: int | None = None) -> int:
        """Deepest ``scrollY + innerHeight`` over the first ``upto`` steps."""
        steps = self.steps[:upto] if upto is not None else self.steps
        return min(self.dh, max(step.top for step in steps) + self.vh)

    def attention(self, upto: int | None = None) -> tuple[int, list[list[int]]]:
        """Cumulative active ms, total and per section, over the first steps."""
        steps = self.steps[:upto] if upto is not None else self.steps
        per_section: dict[int, int] = {}
        for step in steps:
            for index in step.visible:
                per_section[index] = per_section.get(index, 0) + step.dwell
        total = steps[-1].start + steps[-1].dwell if steps else 0
        return total, [[i, per_section[i]] for i in sorted(per_section)]


def scroll_target(rng: random.Random, kind: str) -> float | None:
    """How far down this reader will get, as a share of the page; None = no scroll.

    Articles lose many readers around the middle: the drop-off a scroll map
    should make visible.
    """
    roll = rng.random()
    if kind == "article":
        if roll < 0.16:
            return None
        if roll < 0.28:
            return rng.uniform(0.15, 0.35)
        if roll < 0.62:
            return clamp(rng.gauss(0.5, 0.07), 0.36, 0.64)
        if roll < 0.82:
            return rng.uniform(0.68, 0.95)
        return 1.0
    if kind in ("contact", "thanks"):
        return 1.0 if roll < 0.6 else rng.uniform(0.5, 1.0)
    if roll < {"landing": 0.2, "blog": 0.22, "pricing": 0.14}[kind]:
        return None
    if kind == "pricing" and roll < 0.5:
        return rng.uniform(0.3, 0.6)
    return 1.0 if roll > 0.8 else rng.uniform(0.35, 0.95)


def read_page(
    rng: random.Random,
    layout: PageLayout,
    vh: int,
    target: float | None,
    speed: float,
    min_depth: int = 0,
    start_top: int = 0,
) -> Reading:
    """Simulate the viewport moving down the page and the time spent at each stop.

    Time at a stop is the reading time of the words it newly reveals (at
    ``WORDS_PER_MINUTE`` × the reader's ``speed``, times a per-section interest
    that makes some sections skimmed) plus a short glance. Every section that
    covers > 5 % of the viewport, or has 80 % of itself in view, accrues that time,
    as the snippet counts it. A page opened at an anchor starts at ``start_top``.
    """
    dh = max(layout.dh, vh)
    top = min(start_top, dh - vh)
    if target is None:
        depth = vh
    else:
        depth = int(clamp(target * dh, vh, dh))
    depth = max(depth, min(dh, min_depth), top + vh)
    count = len(layout.sections)
    interest = [_interest(rng, index, count) for index in range(count)]
    bounce = rng.uniform(0.1, 0.4) if target is None else 1.0
    wpm = WORDS_PER_MINUTE * speed
    steps: list[Step] = []
    shown, elapsed = top, 0
    while True:
        words = _words_between(layout, shown, top + vh, interest)
        dwell = int(rng.uniform(600, 2200) + words * bounce / wpm * 60_000)
        steps.append(Step(top, elapsed, dwell, _visible(layout, top, vh)))
        elapsed += dwell
        shown = top + vh
        if top + vh >= depth or elapsed >= MAX_ACTIVE_MS:
            break
        top = min(depth - vh, top + int(vh * rng.uniform(0.45, 0.85)))
    return Reading(tuple(steps), vh, dh)


def anchor_top(layout: PageLayout, fragment: str) -> int:
    """Where the browser scrolls for ``#fragment``: the top of that element's
    content, from the boxes of the elements inside it."""
    inside = [
        el.box[1]
        for el in layout.elements
        if el.selector == f"#{fragment}" or el.selector.startswith(f"#{fragment} ")
    ]
    return max(0, min(inside) - 32) if inside else 0


def _interest(rng: random.Random, index: int, count: int) -> float:
    """Reading pace for a section: 1 is normal, below 0.35 is skimming."""
    skim = 0.18 + (0.14 if index > count / 2 else 0.0)
    if rng.random() < skim:
        return rng.uniform(0.08, 0.3)
    return clamp(math.exp(rng.gauss(0, 0.35)), 0.45, 2.2)


def _words_between(
    layout: PageLayout, start: int, end: int, interest: list[float]
) -> float:
    """Words of the band [start, end), each weighted by its section's interest."""
    total = 0.0
    for index, sec in enumerate(layout.sections):
        if sec.height == 0:
            share = 1.0 if start <= sec.top < end else 0.0
        else:
            overlap = min(end, sec.top + sec.height) - max(start, sec.top)
            share = max(0, overlap) / sec.height
        total += sec.words * share * interest[index]
    return total


def _visible(layout: PageLayout, top: int, vh: int) -> tuple[int, ...]:
    """Sections counted in view: > 5 % of the viewport, or ≥ 80 % of themselves."""
    bottom = top + vh
    shown = []
    for index, sec in enumerate(layout.sections):
        overlap = max(0, min(bottom, sec.top + sec.height) - max(top, sec.top))
        if sec.height == 0:
            if top <= sec.top < bottom:
                shown.append(index)
        elif overlap > 0.05 * vh or overlap >= 0.8 * sec.height:
            shown.append(index)
    return tuple(shown)


# --------------------------------------------------------------------------
# Clicks
# --------------------------------------------------------------------------

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
EXIT_CHANCE = {
    "landing": 0.45,
    "blog": 0.35,
    "article": 0.55,
    "pricing": 0.45,
    "contact": 0.5,
    "thanks": 0.6,
}


def is_navigation(element: Element, path: str) -> bool:
    """A same-site link that loads another page (not a new tab, not an anchor)."""
    href = element.href
    return bool(href and href.startswith("/") and urlsplit(href).path != path)


def is_anchor(element: Element, path: str) -> bool:
    """A link to a fragment of this very page: the browser scrolls, no page view."""
    href = element.href or ""
    return href.startswith(f"{path}#")


def mid_page_weight(element: Element, path: str) -> float:
    """How likely a click that does not leave the page lands on ``element``."""
    if not element.interactive:
        return STATIC_WEIGHTS.get(element.tag, 0.6)
    if element.kind == "field":
        return 2.0 if page_kind(path) == "contact" else 0.0
    if element.tag == "button" and element.selector != "#contact-submit":
        return 5.0  # "Watch the tour" does nothing: the demo's dead-end button
    if element.href and not element.href.startswith("/"):
        return 0.6  # external links open a new tab
    if is_anchor(element, path):
        return 0.8
    return 0.0


def exit_weight(element: Element, path: str) -> float:
    """How likely the reader leaves through ``element`` to the page it links to."""
    if not is_navigation(element, path):
        return 0.0
    target = page_kind(urlsplit(element.href or "").path)
    return EXIT_KIND_WEIGHTS.get(element.kind, 1.0) * TARGET_APPEAL[target]


def click_point(
    rng: random.Random, element: Element, keyboard: bool = False
) -> tuple[int, int, float, float]:
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
    pv_id: str,
    ts: int,
    width: int,
    origin: str,
    point: tuple[int, int, float, float] | None = None,
) -> Event:
    """A ``c`` event with every field the snippet fills for this element."""
    x, y, fx, fy = point or click_point(rng, element)
    event: Event = {
        "t": "c",
        "id": new_id(rng),
        "ts": ts,
        "p": pv_id,
        "x": x,
        "y": y,
        "vw": width,
        "s": element.selector,
        "fx": fx,
        "fy": fy,
        "tg": element.tag,
        "in": element.interactive,
    }
    if element.text:
        event["tx"] = element.text[:60]
    if element.href:
        event["h"] = (
            origin + element.href if element.href.startswith("/") else element.href
        )
    return event


def rage_points(
    rng: random.Random, element: Element
) -> list[tuple[int, int, float, float]]:
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


def time_in_view(rng: random.Random, reading: Reading, element: Element) -> int:
    """Active ms at which the reader can see ``element`` (its middle in view)."""
    middle = element.box[1] + element.box[3] // 2
    steps = [s for s in reading.steps if s.top <= middle < s.top + reading.vh]
    step = rng.choice(steps) if steps else reading.steps[-1]
    return step.start + int(step.dwell * rng.uniform(0.15, 0.9))


# --------------------------------------------------------------------------
# One page view → batches
# --------------------------------------------------------------------------


@dataclass
class Visit:
    """What a page view needs to know about its visitor and session."""

    plan: VisitorPlan
    origin: str
    speed: float
    submit_email: str | None = None  # fill in the form on the contact page


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


@dataclass(frozen=True)
class Clock:
    """Maps active reading ms to wall-clock ms, across one hidden-tab pause."""

    start: int
    idle_at: int | None = None
    idle_ms: int = 0

    def __call__(self, active: int) -> int:
        paused = self.idle_at is not None and active >= self.idle_at
        return self.start + active + (self.idle_ms if paused else 0)


def simulate_page_view(
    rng: random.Random,
    visit: Visit,
    arrival: Arrival,
    stay: bool,
    to_contact: bool,
) -> PageView:
    """Events of one page view, split into the batches the snippet would send."""
    layout = layouts()[arrival.path][visit.plan.device.width]
    submit = visit.submit_email if page_kind(arrival.path) == "contact" else None
    reading = _read(rng, visit, layout, arrival, submit is not None)
    pv_id = new_id(rng)
    events = _opening(rng, pv_id, arrival, layout, visit.plan, reading)
    clock = _clock(rng, arrival.t0, reading)
    reachable = [el for el in layout.elements if el.box[1] < reading.depth()]
    events += _mid_page_clicks(rng, visit, layout, reading, reachable, pv_id, clock)
    end_active = reading.active_ms + rng.randint(300, 4000)
    next_href: str | None = None
    if submit:
        form_events, end_active = _fill_form(
            rng, visit, layout, pv_id, end_active, clock, submit
        )
        events += form_events
        next_href = "/demo/thanks"
    elif stay:
        element, next_href = _leave(rng, reachable, arrival.path, to_contact)
        if element is not None:
            ts, width = clock(end_active), visit.plan.device.width
            events.append(click_event(rng, element, pv_id, ts, width, visit.origin))
            end_active += rng.randint(60, 400)
    # A rage burst late in the visit may run past the planned end.
    end = max(clock(end_active), max(e["ts"] for e in events) + rng.randint(5, 60))
    events += _pagehide_events(rng, pv_id, end, reading, None)
    hidden = _hidden_flush(rng, pv_id, reading, clock)
    return PageView(_split(events, hidden, end), end, next_href)


def _read(
    rng: random.Random,
    visit: Visit,
    layout: PageLayout,
    arrival: Arrival,
    submitting: bool,
) -> Reading:
    """The reading of this page view; a form filler scrolls at least to submit."""
    submit = layout.element("#contact-submit")
    min_depth = submit.bottom + 40 if submitting and submit else 0
    start_top = anchor_top(layout, arrival.anchor) if arrival.anchor else 0
    target = scroll_target(rng, page_kind(arrival.path))
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


def _clock(rng: random.Random, t0: int, reading: Reading) -> Clock:
    """Page load time, and for some readers a tab switch of a minute or more."""
    start = t0 + rng.randint(300, 1800)
    if len(reading.steps) < 3 or rng.random() > 0.18:
        return Clock(start)
    step = reading.steps[rng.randrange(1, len(reading.steps))]
    return Clock(start, step.start, rng.randint(45_000, 600_000))


def _hidden_flush(
    rng: random.Random, pv_id: str, reading: Reading, clock: Clock
) -> tuple[int, list[Event]] | None:
    """When the tab is hidden the snippet flushes ``s`` and ``a`` so far."""
    if clock.idle_at is None:
        return None
    upto = next(i for i, s in enumerate(reading.steps) if s.start >= clock.idle_at)
    ts = clock.start + clock.idle_at + rng.randint(1, 50)
    return ts, _pagehide_events(rng, pv_id, ts, reading, upto)


def _leave(
    rng: random.Random, reachable: list[Element], path: str, to_contact: bool
) -> tuple[Element | None, str]:
    """The link clicked to go on, and the next href.

    Without a reachable link the visitor types an address or uses a bookmark.
    """
    element = _pick_exit(rng, reachable, path, to_contact)
    if element is None:
        return None, _typed_path(rng, path)
    return element, element.href or ""


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
    sec = [[s.level, s.heading[:200], s.top, s.height] for s in layout.sections]
    sec[-1][3] = max(0, reading.dh - sec[-1][2])
    return {"t": "l", "id": new_id(rng), "ts": ts, "p": pv_id, "sec": sec}


def _mid_page_clicks(
    rng: random.Random,
    visit: Visit,
    layout: PageLayout,
    reading: Reading,
    reachable: list[Element],
    pv_id: str,
    clock: Clock,
) -> list[Event]:
    """Clicks that do not leave the page: dead-click candidates, the tour button,
    new-tab links, form fields; now and then a rage burst."""
    width = visit.plan.device.width
    weighted = [(el, mid_page_weight(el, layout.path)) for el in reachable]
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
        ts = clock(time_in_view(rng, reading, element))
        events.append(click_event(rng, element, pv_id, ts, width, visit.origin))
    rage = [(el, RAGE_WEIGHTS.get(el.tag, 0.0)) for el, _ in weighted]
    rage = [(el, w) for el, w in rage if w > 0]
    if rage and rng.random() < 0.05:
        element = pick(rng, rage)
        ts = clock(time_in_view(rng, reading, element))
        for point in rage_points(rng, element):
            events.append(
                click_event(rng, element, pv_id, ts, width, visit.origin, point)
            )
            ts += rng.randint(90, 280)
    return events


def _fill_form(
    rng: random.Random,
    visit: Visit,
    layout: PageLayout,
    pv_id: str,
    start: int,
    clock: Clock,
    email: str,
) -> tuple[list[Event], int]:
    """Click into the fields, submit, identify: the ``data-resonance-identify`` form."""
    width = visit.plan.device.width
    events: list[Event] = []
    active = start
    for selector in ("#contact-name", "#contact-email", "#contact-company"):
        element = layout.element(selector)
        if element is None or (selector == "#contact-company" and rng.random() < 0.3):
            continue
        active += rng.randint(2500, 9000)
        events.append(
            click_event(rng, element, pv_id, clock(active), width, visit.origin)
        )
    submit = layout.element("#contact-submit")
    assert submit is not None
    active += rng.randint(2000, 6000)
    keyboard = rng.random() < 0.2  # Enter in the last field
    point = click_point(rng, submit, keyboard=keyboard)
    events.append(
        click_event(rng, submit, pv_id, clock(active), width, visit.origin, point)
    )
    active += rng.randint(2, 30)
    events.append(
        {"t": "id", "id": new_id(rng), "ts": clock(active), "p": pv_id, "em": email}
    )
    return events, active + rng.randint(80, 400)


def _pick_exit(
    rng: random.Random, reachable: list[Element], path: str, to_contact: bool
) -> Element | None:
    """The link the reader leaves through; a visitor about to convert heads for
    the contact page (the header's "Book a demo" is always within reach)."""
    weighted = [(el, exit_weight(el, path)) for el in reachable]
    weighted = [(el, w) for el, w in weighted if w > 0]
    if to_contact:
        weighted = [
            (el, w) for el, w in weighted if page_kind(_link_path(el)) == "contact"
        ] or weighted
    return pick(rng, weighted) if weighted else None


def _link_path(element: Element) -> str:
    return urlsplit(element.href or "").path


def _typed_path(rng: random.Random, path: str) -> str:
    """No link reachable: the reader uses the address bar or a bookmark."""
    options = [p for p in ("/demo/", "/demo/pricing", "/demo/blog/") if p != path]
    return rng.choice(options)


def _pagehide_events(
    rng: random.Random, pv_id: str, ts: int, reading: Reading, upto: int | None
) -> list[Event]:
    """The cumulative ``s`` and ``a`` the snippet flushes when the page is hidden."""
    depth = reading.depth(upto)
    total, per_section = reading.attention(upto)
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
        "ms": min(total, 86_400_000),
        "a": per_section,
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


# --------------------------------------------------------------------------
# Sessions and visitors
# --------------------------------------------------------------------------


def landing_url(rng: random.Random, source: Source, path: str, origin: str) -> str:
    """The first URL of a session, with the utm keys its campaign carries."""
    utm = list(source.utm)
    if source.name == "linkedin":
        # One campaign per shared post: the article's slug, else the company page.
        post = path.rsplit("/", 1)[-1] if page_kind(path) == "article" else ""
        utm.append(("utm_campaign", post or "company-page"))
    elif source.name == "newsletter":
        utm.append(("utm_campaign", rng.choice(NEWSLETTER_CAMPAIGNS)))
    query = f"?{urlencode(utm)}" if utm else ""
    return f"{origin}{path}{query}"


def landing_path(rng: random.Random, source: Source) -> str:
    kind = pick(rng, source.landings)
    if kind == "article":
        return pick(rng, list(ARTICLE_POPULARITY.items()))
    return {"landing": "/demo/", "blog": "/demo/blog/"}.get(kind, f"/demo/{kind}")


def simulate_session(
    rng: random.Random,
    visit: Visit,
    source: Source,
    start: int,
) -> list[list[Event]]:
    """All batches of one session: page views a few minutes apart, each later
    one referred by the one before."""
    path = landing_path(rng, source)
    arrival = Arrival(
        path, landing_url(rng, source, path, visit.origin), source.referrer, start
    )
    batches: list[list[Event]] = []
    budget_end = start + int(SESSION_BUDGET.total_seconds() * 1000)
    for index in range(MAX_PAGES_PER_SESSION):
        kind = page_kind(arrival.path)
        converting = visit.submit_email is not None
        to_contact = converting and (index >= 2 or rng.random() < 0.4)
        last = index == MAX_PAGES_PER_SESSION - 1
        stay = not last and (converting or rng.random() > EXIT_CHANCE[kind])
        view = simulate_page_view(rng, visit, arrival, stay, to_contact)
        batches += view.batches
        if kind == "contact":
            visit.submit_email = None
        t = view.end + rng.randint(250, 2500)
        if view.next_href is None or t > budget_end:
            break
        parts = urlsplit(view.next_href)
        url = f"{visit.origin}{parts.path}"
        arrival = Arrival(parts.path, url, arrival.url, t, parts.fragment or None)
    return batches


def simulate_visitor(
    rng: random.Random,
    plan: VisitorPlan,
    window: tuple[datetime, datetime],
    origin: str,
) -> Iterator[tuple[int, Batch, Meta]]:
    """Every batch of one visitor, with the wall ms at which it is sent."""
    meta = {"ip": plan.ip, "user_agent": plan.user_agent}
    speed = clamp(math.exp(rng.gauss(0, 0.25)), 0.55, 1.8)
    starts = session_starts(rng, plan, *window)
    identities = _fit_identities(plan.identities, len(starts))
    for number, started in enumerate(starts):
        weights = FIRST_SESSION_SOURCES if number == 0 else RETURN_SESSION_SOURCES
        source = SOURCES["direct"] if plan.internal else SOURCES[pick(rng, weights)]
        visit = Visit(plan, origin, speed, submit_email=identities.get(number))
        for events in simulate_session(rng, visit, source, ms(started)):
            batch: Batch = {"s": "", "v": plan.vid}
            if plan.internal:
                batch["i"] = 1
            batch["e"] = events
            yield events[-1]["ts"], batch, meta


def _fit_identities(planned: dict[int, str], sessions: int) -> dict[int, str]:
    """Move conversions planned for sessions that did not fit into the last one.

    Keeps the share of identified visitors exact whatever the window length; when
    two conversions would share a session, the later one is dropped.
    """
    fitted: dict[int, str] = {}
    for number in sorted(planned):
        fitted.setdefault(min(number, sessions - 1), planned[number])
    return fitted


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def demo_batches(
    site_key: str,
    *,
    visitors: int = 400,
    days: int = 30,
    seed: int = 7,
    now: datetime | None = None,
    origin: str = DEMO_ORIGIN,
) -> Iterator[tuple[Batch, Meta]]:
    """Yield ``(batch, meta)`` for ``visitors`` synthetic visitors over ``days`` days.

    Batches come in the order they would reach the collector (by the time of
    their newest event), so visitors, sessions and identify calls interleave as
    in real traffic. ``meta`` carries the request's documentation-range IP and
    user agent, which the collector needs for bot checks and anonymous hashes.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rng = random.Random(seed)
    window = (now - timedelta(days=days), now - LATEST_START)
    plans = plan_visitors(rng, visitors)
    sent: list[tuple[int, int, Batch, Meta]] = []
    for plan in plans:
        # One generator per visitor keeps each visitor's data independent of
        # how many events the visitors before it happened to produce.
        visitor_rng = random.Random(f"{seed}:{plan.index}:{plan.vid}")
        for ts, batch, meta in simulate_visitor(visitor_rng, plan, window, origin):
            batch["s"] = site_key
            sent.append((ts, len(sent), batch, meta))
    sent.sort(key=lambda item: (item[0], item[1]))
    for _, _, batch, meta in sent:
        yield batch, meta


def seed_demo(
    session: DbSession,
    site_key: str,
    *,
    visitors: int = 400,
    days: int = 30,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    origin: str = DEMO_ORIGIN,
) -> int:
    """Feed every demo batch through the collector's ``ingest``; return events stored.

    Going through ``ingest`` rather than inserting rows means the demo exercises
    validation, identity linking and every ``put_*`` step exactly as real
    beacons do. Commits every ~200 batches so a large seed keeps memory flat.
    """
    from tracker.ingest import RequestMeta, ingest

    now = now or datetime.now(UTC)
    batches = list(
        demo_batches(
            site_key, visitors=visitors, days=days, seed=seed, now=now, origin=origin
        )
    )
    stored = 0
    for done, (batch, meta) in enumerate(batches, start=1):
        body = json.dumps(batch, separators=(",", ":")).encode()
        request = RequestMeta(ip=meta["ip"], user_agent=meta["user_agent"])
        try:
            stored += ingest(session, body, request, now=now)
        except Exception as exc:
            exc.add_note(f"demo batch {done} of {len(batches)} was refused")
            raise
        if done % 200 == 0:
            session.commit()
        if progress is not None:
            progress(done, len(batches))
    session.commit()
    return stored
