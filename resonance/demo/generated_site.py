"""Made-up sites of any size, for scale work: content items with sections and
clickable elements, laid out at each device width.

The demo site is measured in a browser (``layout.json``); a site of hundreds
of items cannot be, so this one lays its pages out by rule: a header with
navigation and a call to action, then one block per section whose height grows
with its words and with how narrow the text column is. Links go to other items
of the same site, so a walk from page to page stays on known pages. Every
choice is drawn once per item and shared by all widths, from ``random.Random``
seeded with ``seed``: the same seed gives the same site.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from resonance.demo.site import Element, PageLayout, Section, Site

WORDS = (
    "pipeline revenue content audit scoring funnel intent signal onboarding "
    "pricing security migration analytics attribution playbook campaign "
    "retention churn forecast workflow integration webhook dashboard segment "
    "handoff quota territory renewal expansion pilot rollout governance"
).split()
KINDS = ("blog", "docs", "guides", "product")
NAV_LINKS = 5
HEADER_PX = 620  # navigation, hero and call to action above the first section
FOOTER_PX = 700
COLUMN_PX = 800  # the text column on a wide screen


@dataclass(frozen=True)
class _Block:
    """A section as drawn for every width: the words decide its height."""

    level: int
    heading: str
    words: int
    image: bool
    more: str | None  # path of the item its "Read more" link goes to


def generated_site(
    origin: str, *, items: int, seed: str, widths: Sequence[int]
) -> Site:
    """A site at ``origin`` of ``items`` articles, most popular first."""
    rng = random.Random(seed)
    paths = [_path(rng, item) for item in range(items)]
    popularity = tuple((path, _popularity(rank)) for rank, path in enumerate(paths))
    pages = {}
    for item, path in enumerate(paths):
        title = " ".join(path.rsplit("/", 1)[-1].split("-")).capitalize()
        blocks = _blocks(rng, popularity)
        pages[path] = {
            width: _layout(path, f"{title} ({item})", width, blocks, paths)
            for width in widths
        }
    return Site(origin=origin, pages=pages, special={}, popularity=popularity)


def _path(rng: random.Random, item: int) -> str:
    # No digits in the slug: URL hygiene redacts letter-digit tokens.
    slug = "-".join(rng.sample(WORDS, 3))
    return f"/{KINDS[item % len(KINDS)]}/{item}/{slug}"


def _popularity(rank: int) -> float:
    """Zipf-like: a few items get most views, a long tail gets a few."""
    return math.log((rank + 2) / (rank + 1))


def _blocks(
    rng: random.Random, popularity: tuple[tuple[str, float], ...]
) -> tuple[_Block, ...]:
    blocks = []
    for index in range(rng.randint(4, 12)):
        level = 1 if index == 0 else rng.choice((2, 2, 2, 3))
        words = rng.randint(60, 520)
        heading = " ".join(rng.sample(WORDS, 2)).capitalize()
        image = rng.random() < 0.6
        more = rng.choices(popularity)[0][0] if rng.random() < 0.5 else None
        blocks.append(_Block(level, f"{heading} {index}", words, image, more))
    return tuple(blocks)


def _layout(
    path: str,
    title: str,
    width: int,
    blocks: tuple[_Block, ...],
    paths: list[str],
) -> PageLayout:
    column = min(COLUMN_PX, width - 32)
    left = (width - column) // 2
    sections, top = [], HEADER_PX
    for block in blocks:
        # Text reflows: half the column, twice the lines.
        height = 120 + int(block.words * 2 * COLUMN_PX / column)
        sections.append(Section(block.level, block.heading, top, height, block.words))
        top += height
    dh = top + FOOTER_PX
    elements = tuple(_elements(width, left, column, sections, blocks, paths, dh))
    return PageLayout(path, title, width, dh, tuple(sections), elements)


def _elements(
    width: int,
    left: int,
    column: int,
    sections: list[Section],
    blocks: tuple[_Block, ...],
    paths: list[str],
    dh: int,
) -> Iterator[Element]:
    """Navigation to the most popular items, a call to action that does
    nothing, per section its heading, text, perhaps an image and a link, and a
    footer link home."""
    slot = (width - 32) // NAV_LINKS
    for n, target in enumerate(paths[:NAV_LINKS]):
        text = target.rsplit("/", 1)[-1].split("-")[0].capitalize()
        box = (16 + n * slot, 20, max(40, min(110, slot - 8)), 40)
        yield _element(f"nav a:nth-of-type({n + 1})", "a", "nav", text, target, box)
    cta = (max(16, (width - 320) // 2), 420, min(320, width - 32), 64)
    yield _element("#cta", "button", "cta", "Book a demo", None, cta)
    for index, (section, block) in enumerate(zip(sections, blocks, strict=True)):
        base = f"main section:nth-of-type({index + 1})"
        top, height, tag = section.top, section.height, f"h{block.level}"
        box = (left, top, column, 40)
        yield _element(f"{base} > {tag}", tag, "static", block.heading, None, box)
        box = (left, top + 60, column, max(40, height - 140))
        yield _element(f"{base} > p", "p", "static", "", None, box)
        if block.image:
            box = (left, top + height - 80, column * 3 // 4, 60)
            yield _element(f'img[data-x="fig-{index}"]', "img", "static", "", None, box)
        if block.more:
            box = (left + 10, top + 30, 140, 24)
            yield _element(f"{base} a", "a", "link", "Read more", block.more, box)
    box = (max(16, width // 2 - 45), dh - 200, 90, 24)
    yield _element("footer a", "a", "footer", "Home", paths[0], box)


def _element(
    selector: str,
    tag: str,
    kind: str,
    text: str,
    href: str | None,
    box: tuple[int, int, int, int],
) -> Element:
    return Element(selector, tag, kind, text[:60], href, kind != "static", box)
