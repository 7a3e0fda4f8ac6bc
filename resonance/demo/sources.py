"""Where sessions come from: search, ads, social posts, newsletters, links, typing.

Owns: each source's referrer and ``utm_*`` keys, the share of first and of
returning sessions it brings, and the kinds of pages it lands people on. The
site decides which page of a kind that is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

from resonance.demo.draws import pick
from resonance.demo.site import Site


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


def landing_url(rng: random.Random, source: Source, site: Site, path: str) -> str:
    """The first URL of a session, with the utm keys its campaign carries."""
    utm = list(source.utm)
    if source.name == "linkedin":
        # One campaign per shared post: the article's slug, else the company page.
        post = path.rsplit("/", 1)[-1] if site.kind(path) == "article" else ""
        utm.append(("utm_campaign", post or "company-page"))
    elif source.name == "newsletter":
        utm.append(("utm_campaign", rng.choice(NEWSLETTER_CAMPAIGNS)))
    query = f"?{urlencode(utm)}" if utm else ""
    return f"{site.origin}{path}{query}"


def landing_path(rng: random.Random, source: Source, site: Site) -> str:
    """The page a session from ``source`` starts on."""
    return site.landing(rng, pick(rng, source.landings))
