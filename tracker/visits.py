"""Visitors and visit sessions as a group of beacons changes them.

Owns: the 30-minute session rule, replayed in memory over a whole group as
one-by-one ingestion would apply it, and the ``visitors`` and
``visit_sessions`` rows and statements it leads to (``tracker.ingest`` runs
them). Replaying in memory is what lets a group store its sessions in a couple
of set-based statements instead of a look-up and a write per page view.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from resonance.core.dialect import Columns, RawSql, Result
from tracker.event_rows import View

SESSION_GAP = timedelta(minutes=30)

VisitorKey = tuple[int, str]  # site id, visitor uid


@dataclass(eq=False)
class Visit:
    """A visit session a group touches: stored (``id``) or new (``row``)."""

    id: int | None
    visitor_id: int | None
    last_seen: datetime | None  # None: stored, and only ever raised here
    added: int = 0  # page views added to it
    raise_to: datetime | None = None
    row: dict | None = None

    def touch(self, at: datetime) -> None:
        """Activity at ``at``: the visit lasts at least until then."""
        if self.last_seen is not None:
            self.last_seen = max(self.last_seen, at)
        self.raise_to = at if self.raise_to is None else max(self.raise_to, at)


# --- visitors ----------------------------------------------------------------------

VISITOR_COLUMNS: Columns = (
    ("site_id", "int"), ("uid", "text"), ("is_internal", "bool"),
    ("first_seen_at", "timestamp"), ("last_seen_at", "timestamp"),
    ("first_view_at", "timestamp"),
)  # fmt: skip
# first_view_at keeps the earliest page view: a batch without one (NULL) or with
# a later one leaves it as it is (the same value: PostgreSQL's update stays HOT).
VISITOR_UPSERT = (
    "ON CONFLICT (site_id, uid) DO UPDATE SET"
    " last_seen_at = excluded.last_seen_at,"
    " is_internal = visitors.is_internal OR excluded.is_internal,"
    " first_view_at = CASE WHEN visitors.first_view_at IS NULL"
    " OR excluded.first_view_at < visitors.first_view_at"
    " THEN excluded.first_view_at ELSE visitors.first_view_at END"
    " RETURNING id, site_id, uid"
)


def seen(
    visitors: dict[VisitorKey, dict],
    key: VisitorKey,
    first_at: datetime,
    now: datetime,
    internal: bool,
) -> None:
    """Fold a batch of the visitor into ``visitors``: first and last seen, and
    internal once any batch says so."""
    row = visitors.setdefault(
        key, {"is_internal": False, "first_seen_at": first_at, "first_view_at": None}
    )
    row["is_internal"] = row["is_internal"] or internal
    row["last_seen_at"] = now


def viewed(visitors: dict[VisitorKey, dict], key: VisitorKey, at: datetime) -> None:
    """A new page view of the visitor at ``at``: the earliest is kept."""
    row = visitors[key]
    row["first_view_at"] = min(at, row["first_view_at"] or at)


def visitor_rows(visitors: dict[VisitorKey, dict]) -> list[tuple]:
    return [
        (
            site_id,
            uid,
            row["is_internal"],
            row["first_seen_at"],
            row["last_seen_at"],
            row["first_view_at"],
        )
        for (site_id, uid), row in sorted(visitors.items())
    ]


# --- the visits of a group ---------------------------------------------------------

# The latest visit of visitors found by site and uid (the index on visitor_id,
# last_seen_at serves it).
_LATEST_SQL = (
    "SELECT id, visitor_id, last_seen_at FROM ("
    "SELECT s.id, s.visitor_id, s.last_seen_at, row_number() OVER ("
    "PARTITION BY s.visitor_id ORDER BY s.last_seen_at DESC) AS rank"
    " FROM visit_sessions AS s JOIN visitors AS v ON v.id = s.visitor_id"
    " WHERE v.site_id {sites} AND v.uid {uids}) AS ranked"
    " WHERE rank = 1"
)
_KNOWN_SQL = "SELECT id, visitor_id, last_seen_at FROM visit_sessions WHERE id {ids}"


def query_visits(sql: RawSql, keys: set[VisitorKey], stored: list[int]) -> Result:
    """The latest visit of each visitor in ``keys`` (found by site and uid: their
    ids arrive in the same pipeline), and the visits ``stored`` page views are in."""
    if not keys:
        return Result([])
    among_sites, params = sql.among(sorted({site_id for site_id, _ in keys}))
    among_uids, uids = sql.among(sorted({uid for _, uid in keys}))
    text = _LATEST_SQL.format(sites=among_sites, uids=among_uids)
    params += uids
    if stored:
        among_ids, ids = sql.among(stored)
        text += " UNION ALL " + _KNOWN_SQL.format(ids=among_ids)
        params += ids
    return sql.query(text, params)


def index_visits(
    sql: RawSql, stored_visits: list[tuple]
) -> tuple[dict[int, Visit], dict[int, list[Visit]]]:
    """Stored visits by id, and by visitor (their candidates for a new page view)."""
    by_id: dict[int, Visit] = {}
    for id_, visitor_id, last_seen in stored_visits:
        by_id.setdefault(id_, Visit(id_, visitor_id, sql.when(last_seen)))
    of_visitor: dict[int, list[Visit]] = {}
    for visit in by_id.values():
        of_visitor.setdefault(visit.visitor_id, []).append(visit)
    return by_id, of_visitor


def join_visit(visits: list[Visit], at: datetime, row: dict) -> Visit:
    """The visit a page view at ``at`` belongs to: the visitor's latest one
    unless it has been idle for 30 minutes or more, else a new one (appended)."""
    known = [v for v in visits if v.last_seen is not None]
    latest = max(known, key=lambda v: v.last_seen, default=None)
    if latest is not None and abs(at - latest.last_seen) < SESSION_GAP:
        latest.added += 1
        latest.touch(at)
        return latest
    visit = Visit(None, None, at, added=1, row=_landing(row, at))
    visits.append(visit)
    return visit


def _landing(view_row: dict, at: datetime) -> dict:
    """A new visit's facts, from the page view that starts it."""
    return {
        "site_id": view_row["site_id"],
        "started_at": at,
        "landing_url": view_row["url"],
        "referrer": view_row["referrer"],
        "utm_source": view_row["utm_source"],
        "utm_medium": view_row["utm_medium"],
        "utm_campaign": view_row["utm_campaign"],
        "device": view_row["device"],
    }


def visits_of(views: Iterable[View]) -> list[Visit]:
    """Each visit the views are in, once, in the views' order."""
    return list({id(v.visit): v.visit for v in views if v.visit}.values())


# --- visit_sessions ----------------------------------------------------------------

VISIT_COLUMNS: Columns = (
    ("id", "int"), ("site_id", "int"), ("visitor_id", "int"),
    ("started_at", "timestamp"),
    ("last_seen_at", "timestamp"), ("landing_url", "text"), ("referrer", "text"),
    ("utm_source", "text"), ("utm_medium", "text"), ("utm_campaign", "text"),
    ("device", "text"), ("pageviews", "int"),
)  # fmt: skip


def visit_rows(new: list[Visit]) -> list[tuple]:
    return [
        (
            v.id, v.row["site_id"], v.visitor_id, v.row["started_at"],
            v.last_seen, v.row["landing_url"], v.row["referrer"],
            v.row["utm_source"], v.row["utm_medium"], v.row["utm_campaign"],
            v.row["device"], v.added,
        )
        for v in new
    ]  # fmt: skip


RAISE_COLUMNS: Columns = (("v_id", "int"), ("v_added", "int"), ("v_at", "timestamp"))


def raised_visits(visits: list[Visit]) -> list[tuple]:
    """Stored visits that gain page views or last longer."""
    changed = sorted(
        (v for v in visits if v.row is None and v.raise_to is not None),
        key=lambda v: v.id,
    )
    return [(v.id, v.added, v.raise_to) for v in changed]


def raise_sets(greatest: str) -> str:
    return (
        "pageviews = pageviews + u.v_added,"
        f" last_seen_at = {greatest}(last_seen_at, u.v_at)"
    )
