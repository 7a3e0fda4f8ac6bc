"""Content groups: which URLs a site's group rule (``/blog/*``, ``/docs/**``)
takes, and the topic a URL falls under."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.core.models import Content, ContentGroup, Site


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A content-group pattern as a regex: ``*`` is one or more characters other
    than ``/`` (one path segment), ``**`` anything; everything else is literal."""
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(
        ".*" if part == "**" else "[^/]+" if part == "*" else re.escape(part)
        for part in parts
    )
    return re.compile(body + r"\Z")


def group_matches(pattern: str, url: str) -> bool:
    """Whether a canonical URL falls under a group pattern: patterns starting with
    ``/`` match the URL's path, others (``https://…``) the whole URL."""
    subject = (urlsplit(url).path or "/") if pattern.startswith("/") else url
    return bool(pattern_regex(pattern).match(subject))


@dataclass(frozen=True)
class GroupRule:
    """A content group of a site; ``key`` is the negative item id used in SQL."""

    key: int
    name: str
    pattern: str


def content_groups(
    session: Session, site_key: str
) -> tuple[dict[int, int], dict[int, GroupRule]]:
    """Which content items each group rule takes (the first rule by id wins).

    Matched in Python over the contents table, which is small (one row per URL,
    never per event); the result feeds a CASE in SQL.
    """
    rules = session.execute(
        select(ContentGroup.id, ContentGroup.name, ContentGroup.pattern)
        .join(Site, Site.id == ContentGroup.site_id)
        .where(Site.key == site_key)
        .order_by(ContentGroup.id)
    ).all()
    if not rules:
        return {}, {}
    by_key = {-rule.id: GroupRule(-rule.id, rule.name, rule.pattern) for rule in rules}
    compiled = [(-rule.id, rule.pattern) for rule in rules]
    mapping: dict[int, int] = {}
    contents = session.execute(
        select(Content.id, Content.url)
        .join(Site, Site.id == Content.site_id)
        .where(Site.key == site_key)
    )
    for content_id, url in contents:
        key = next((k for k, p in compiled if group_matches(p, url)), None)
        if key is not None:
            mapping[content_id] = key
    return mapping, by_key


def topic_of(url: str, rules: list[tuple[str, str]]) -> str:
    """The topic of a content URL: the name of the first content-group rule
    (``name, pattern``) that matches it, else its first path segment."""
    for name, pattern in rules:
        if group_matches(pattern, url):
            return name
    segment = (urlsplit(url).path or "/").lstrip("/").split("/", 1)[0]
    return "/" + segment
