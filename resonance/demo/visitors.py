"""Who visits: devices, browsers, and the plan of each visitor.

Owns: the device mix (≈55 % desktop, 15 % tablet, 30 % phone, at the widths
``layout.json`` measured), user agents of real browsers, and per visitor the
decisions taken before any session is simulated: how many sessions, on which
working hours, whether internal staff, anonymous (no stored visitor id), and
who identifies as whom, including a second device of the same person and a
shared browser where a colleague identifies later.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from resonance.demo.draws import new_id, pick
from resonance.demo.people import make_emails

IDENTIFIED_SHARE = 0.12
INTERNAL_SHARE = 0.015


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
DEVICE_WIDTHS = tuple(sorted({device.width for device in DEVICES}))

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
    site: int = 0  # which of the sites it visits
    anonymous: bool = False  # sends no visitor id (no consent to store one)


def plan_visitors(
    rng: random.Random,
    count: int,
    *,
    sites: int = 1,
    anonymous_share: float = 0.0,
    sessions: Sequence[int] | None = None,
) -> list[VisitorPlan]:
    """Devices, sessions, sites, internal staff and who identifies as whom.

    ``sessions`` (one count per visitor) replaces the drawn session counts, for
    callers that size visitors by the events they must send. Anonymous visitors
    are taken among those who neither identify nor work on the site.
    """
    plans = [_new_plan(rng, index) for index in range(count)]
    if sites > 1:
        for plan in plans:
            plan.site = rng.randrange(sites)
    internal_count = round(count * INTERNAL_SHARE) if count >= 20 else 0
    order = rng.sample(range(count), count)
    for index in order[:internal_count]:
        plans[index].internal = True
        plans[index].sessions = rng.randint(3, 6)
        plans[index].device = DEVICES[rng.randrange(2)]
        plans[index].vh = rng.choice(plans[index].device.heights)
    identified_count = round(count * IDENTIFIED_SHARE)
    identified = [plans[i] for i in order[internal_count:]][:identified_count]
    assign_identities(rng, identified)
    rest = order[internal_count + identified_count :]
    for index in rest[: round(count * anonymous_share)]:
        plans[index].anonymous = True
    if sessions is not None:
        for plan, wanted in zip(plans, sessions, strict=True):
            plan.sessions = wanted
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
        second.site = first.site
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
