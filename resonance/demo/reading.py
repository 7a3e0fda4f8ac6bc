"""How a person reads a page: where the viewport rests, for how long, what is seen.

Owns: how far down each kind of page a reader gets (articles lose many around
the middle: the drop-off a scroll map should make visible), the time spent at
each stop (the words newly revealed at the reader's pace, some sections
skimmed), how the snippet shares that time out (among the sections on screen by
the part of the viewport each covers, and to every 100 px band of the page on
screen by how much of it was), and the wall clock of a page view, which stops
while the tab is hidden.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from resonance.demo.draws import clamp
from resonance.demo.site import PageLayout
from tracker.catalog import WORDS_PER_MINUTE

MAX_ACTIVE_MS = 12 * 60_000
BAND_PX = 100  # the snippet's bands of the page (docs/beacon.md)
MAX_BANDS = 1000

Pairs = list[list[int]]  # [index, ms] as the attention event carries them


@dataclass(frozen=True)
class Step:
    """The viewport rests at ``top`` for ``dwell`` active ms, from ``start``."""

    top: int
    start: int
    dwell: int


@dataclass(frozen=True)
class Attention:
    """Cumulative active ms: in all, per section index, per 100 px band."""

    ms: int
    sections: Pairs
    bands: Pairs


@dataclass(frozen=True)
class Reading:
    steps: tuple[Step, ...]
    vh: int
    dh: int
    # (top, height) of each section as the layout event reports it (the last
    # one to the end of the document).
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def active_ms(self) -> int:
        return self.steps[-1].start + self.steps[-1].dwell

    def depth(self, upto: int | None = None) -> int:
        """Deepest ``scrollY + innerHeight`` over the first ``upto`` steps."""
        steps = self.steps[:upto] if upto is not None else self.steps
        return min(self.dh, max(step.top for step in steps) + self.vh)

    def attention(self, upto: int | None = None) -> Attention:
        """Cumulative active ms over the first ``upto`` steps, shared out as the
        snippet does: each step's among the sections on screen by the part of
        the viewport each covers (so they add up to the step whenever one is on
        screen), and to each band on screen by the part of it that was."""
        steps = self.steps[:upto] if upto is not None else self.steps
        sections: dict[int, float] = {}
        bands: dict[int, float] = {}
        for step in steps:
            bottom = min(step.top + self.vh, self.dh)
            _share_sections(sections, self.spans, step.top, bottom, step.dwell)
            _share_bands(bands, step.top, bottom, step.dwell)
        total = steps[-1].start + steps[-1].dwell if steps else 0
        return Attention(total, _pairs(sections), _pairs(bands))


def _share_sections(
    into: dict[int, float],
    spans: tuple[tuple[int, int], ...],
    top: int,
    bottom: int,
    ms: int,
) -> None:
    overlaps = [
        (index, min(bottom, y + height) - max(top, y))
        for index, (y, height) in enumerate(spans)
        if y < bottom and y + height > top  # on screen (checked first: cheap)
    ]
    covered = sum(part for _, part in overlaps)
    for index, part in overlaps:
        into[index] = into.get(index, 0.0) + ms * part / covered


def _share_bands(into: dict[int, float], top: int, bottom: int, ms: int) -> None:
    band = top // BAND_PX
    while band * BAND_PX < bottom and band < MAX_BANDS:
        seen = min(bottom, (band + 1) * BAND_PX) - max(top, band * BAND_PX)
        into[band] = into.get(band, 0.0) + ms * seen / BAND_PX
        band += 1


def _pairs(values: dict[int, float]) -> Pairs:
    """Rounded as the snippet sends them; a value that rounds to 0 is left out."""
    pairs = [[index, round(value)] for index, value in sorted(values.items())]
    return [pair for pair in pairs if pair[1] > 0]


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
    that makes some sections skimmed) plus a short glance; :meth:`Reading.attention`
    shares it out as the snippet does. A page opened at an anchor starts at
    ``start_top``.
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
        steps.append(Step(top, elapsed, dwell))
        elapsed += dwell
        shown = top + vh
        if top + vh >= depth or elapsed >= MAX_ACTIVE_MS:
            break
        top = min(depth - vh, top + int(vh * rng.uniform(0.45, 0.85)))
    return Reading(tuple(steps), vh, dh, layout_spans(layout, dh))


def layout_spans(layout: PageLayout, dh: int) -> tuple[tuple[int, int], ...]:
    """The sections as the layout event reports them: the last one runs to the
    end of this visitor's document."""
    spans = [(sec.top, sec.height) for sec in layout.sections]
    if spans:
        spans[-1] = (spans[-1][0], max(0, dh - spans[-1][0]))
    return tuple(spans)


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
        if sec.top >= end or sec.top + sec.height < start:
            continue  # outside the band (the common case, so checked first)
        if sec.height == 0:
            share = 1.0 if start <= sec.top else 0.0
        else:
            overlap = min(end, sec.top + sec.height) - max(start, sec.top)
            share = max(0, overlap) / sec.height
        total += sec.words * share * interest[index]
    return total


@dataclass(frozen=True)
class Clock:
    """Maps active reading ms to wall-clock ms, across one hidden-tab pause."""

    start: int
    idle_at: int | None = None
    idle_ms: int = 0

    def __call__(self, active: int) -> int:
        paused = self.idle_at is not None and active >= self.idle_at
        return self.start + active + (self.idle_ms if paused else 0)


def wall_clock(rng: random.Random, t0: int, reading: Reading) -> Clock:
    """Page load time, and for some readers a tab switch of a minute or more."""
    start = t0 + rng.randint(300, 1800)
    if len(reading.steps) < 3 or rng.random() > 0.18:
        return Clock(start)
    step = reading.steps[rng.randrange(1, len(reading.steps))]
    return Clock(start, step.start, rng.randint(45_000, 600_000))
