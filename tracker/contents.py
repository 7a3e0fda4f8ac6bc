"""Content items: the one upsert of a page's ``contents`` row and its title.

Owns: the content item a canonical URL of a site groups under, created on its
first sighting (its kind and whether it is a high-intent page from the URL
rules of ``tracker.content_kinds``; later sightings never change either) and
keeping the latest non-empty title. Page views (through ``tracker.ingest``),
the crawler (``tracker.catalog``) and snapshots all land on the same row
through this one statement, so measured attention, crawled lengths and
screenshots meet; a title sent empty never wipes one already known.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from resonance.core.dialect import RawSql, Result
from resonance.core.models import CONTENT_KINDS, Content
from tracker.content_kinds import is_high_intent_url, kind_of_url
from tracker.urls import canonical, url_hash

COLUMNS = (
    ("site_id", "int"),
    ("url", "text"),
    ("url_hash", "text"),
    ("title", "text"),
    ("first_seen_at", "timestamp"),
    ("kind", "text"),
    ("high_intent", "bool"),
)
# An empty title keeps the stored one; the row's id comes back either way.
_UPSERT = (
    "ON CONFLICT (site_id, url_hash) DO UPDATE SET"
    " title = coalesce(nullif(excluded.title, ''), contents.title)"
    " RETURNING id, site_id, url_hash"
)

ContentKey = tuple[int, str]  # site id, hash of the canonical URL


def upsert(sql: RawSql, rows: dict[ContentKey, dict]) -> Result:
    """Insert or retitle content items (rows by key, each with ``url``, ``title``
    and ``first_seen_at``), sorted by key so that two writers lock rows in the
    same order; the result's rows are ``(id, site_id, url_hash)``. A new item's
    kind and high intent come from its URL; an existing one keeps both."""
    return sql.insert(
        "contents",
        COLUMNS,
        [
            (
                site_id,
                row["url"],
                key,
                row["title"],
                row["first_seen_at"],
                kind_of_url(row["url"]),
                is_high_intent_url(row["url"]),
            )
            for (site_id, key), row in sorted(rows.items())
        ],
        _UPSERT,
    )


def fold_sighting(
    rows: dict[ContentKey, dict], key: ContentKey, url: str, title: str, at: datetime
) -> None:
    """Fold a sighting of the item into ``rows``: the first one's time, the
    latest non-empty title."""
    row = rows.setdefault(key, {"url": url, "title": "", "first_seen_at": at})
    if title:
        row["title"] = title


def put_content(
    session: Session, site_id: int, url: str, title: str, at: datetime
) -> int:
    """The id of the content item of a page URL, created at ``at`` (naive UTC) if
    new; a non-empty ``title`` becomes its title. Does not commit."""
    canon = canonical(url)
    key = (site_id, url_hash(canon))
    rows: dict[ContentKey, dict] = {}
    fold_sighting(rows, key, canon, title, at)
    session.flush()  # raw SQL does not flush the session's pending rows itself
    [(content_id, _, _)] = upsert(RawSql(session), rows).rows()
    return content_id


def auto_kind(kind: str):
    """The value an automatic decision gives ``contents.kind``: ``kind``,
    unless a person chose the item's kind by hand (that choice stays)."""
    return case((Content.kind_source == "hand", Content.kind), else_=kind)


def set_kind_by_hand(
    session: Session, site_id: int, content_id: int, kind: str
) -> bool:
    """Mark a content item of the site as ``kind`` (``content`` or
    ``conversion``) by hand: URL rules and crawls never change it again.
    False when the site has no such item. Does not commit."""
    if kind not in CONTENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CONTENT_KINDS)}")
    done = session.execute(
        update(Content)
        .where(Content.id == content_id, Content.site_id == site_id)
        .values(kind=kind, kind_source="hand")
    )
    return done.rowcount == 1


def set_high_intent_by_hand(
    session: Session, site_id: int, content_id: int, high_intent: bool
) -> bool:
    """Mark a content item of the site as a high-intent page (or not) by hand:
    the URL rules never change it again. False when the site has no such item.
    Does not commit."""
    done = session.execute(
        update(Content)
        .where(Content.id == content_id, Content.site_id == site_id)
        .values(high_intent=high_intent, high_intent_source="hand")
    )
    return done.rowcount == 1
