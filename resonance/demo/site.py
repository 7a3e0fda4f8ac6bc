"""The site a beacon generator walks: pages, their kinds, and at each device
width their sections and clickable elements.

Clicks and readings must agree with the page a browser would have laid out, so
every page is known per width: its document height, its sections (heading,
top, height, words) and each element's box. :func:`demo_site` reads the demo's
from ``layout.json`` (measured by ``scripts/demo_layout.py`` in headless
Chromium); ``generated_site.py`` makes up sites of any size for scale work.

A page's kind (landing, blog, article, pricing, contact, thanks) decides how
people read it, where they go next and where they fill in a form; a site names
its one page of each kind but ``article``, of which it has many, each with a
popularity.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from resonance.demo.draws import pick

LAYOUT_PATH = Path(__file__).with_name("layout.json")
# Where `resonance serve` runs by default; only the page URLs carry it.
DEMO_ORIGIN = "http://127.0.0.1:8000"
# The demo's page of each kind but article.
DEMO_PAGES = {
    "landing": "/demo/",
    "blog": "/demo/blog/",
    "pricing": "/demo/pricing",
    "contact": "/demo/contact",
    "thanks": "/demo/thanks",
}
# Some articles are more popular than others, so content comparisons show a spread.
ARTICLE_POPULARITY = {
    "/demo/blog/lead-scoring-that-sales-trusts": 0.34,
    "/demo/blog/what-sales-wishes-marketing-knew": 0.26,
    "/demo/blog/content-audit-playbook": 0.24,
    "/demo/blog/mql-to-sql-in-30-days": 0.16,
}
# Addresses people type or keep as bookmarks, in order of preference.
TYPED_KINDS = ("landing", "pricing", "blog")


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


@dataclass(frozen=True, eq=False)
class Site:
    """Every page of a site at every width, and which page is of which kind."""

    origin: str  # scheme and host that page URLs start with
    pages: Mapping[str, Mapping[int, PageLayout]]  # path → width → layout
    special: Mapping[str, str]  # kind → the path of its one page (not articles)
    popularity: tuple[tuple[str, float], ...]  # article paths and weights

    def layout(self, path: str, width: int) -> PageLayout:
        return self.pages[path][width]

    def kind(self, path: str) -> str:
        """landing, blog, article, pricing, contact or thanks."""
        for kind, special in self.special.items():
            if special == path:
                return kind
        return "article"

    def landing(self, rng: random.Random, kind: str) -> str:
        """The page of ``kind`` a session starts on; an article by popularity
        when the site has no page of that kind."""
        if kind != "article" and kind in self.special:
            return self.special[kind]
        return pick(rng, self.popularity)

    def typed(self) -> tuple[str, ...]:
        """Pages reached by typing an address: the home page, pricing, the blog;
        the most popular articles on a site without them."""
        found = tuple(self.special[k] for k in TYPED_KINDS if k in self.special)
        if found:
            return found
        ranked = sorted(self.popularity, key=lambda item: -item[1])
        return tuple(path for path, _ in ranked[:3])


@cache
def demo_layouts() -> dict[str, dict[int, PageLayout]]:
    """``layout.json`` as typed objects: ``demo_layouts()[path][width]``."""
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


def demo_site(origin: str = DEMO_ORIGIN) -> Site:
    """The demo marketing site (``pages.py``) as served at ``origin``."""
    return Site(
        origin=origin,
        pages=demo_layouts(),
        special=DEMO_PAGES,
        popularity=tuple(ARTICLE_POPULARITY.items()),
    )
