"""The inbox: beacons accepted under load, committed raw, stored as events later.

Owns: the ``inbox`` table. :func:`put` commits a group of admitted beacons in
one statement (the collector then answers 204); :func:`drain` takes the oldest
and stores them through :func:`tracker.ingest.ingest_many`, still the one place
that writes events, deleting them from the inbox in the same transaction.

Why: storing a beacon's events costs about ten statements per group and most of
the collector's CPU; appending it to the inbox costs one. When beacons arrive
faster than they can be stored, the writer (``tracker.writer``) puts them here,
so a launch-day burst is answered at the speed of an append, and stores them
when it has time: the design of Matomo's QueuedTracking and of PostHog's
capture endpoint, with the queue in the database the events go to, so nothing
new has to run and an accepted beacon is as durable as a stored event.

Order: beacons are drained in arrival order by one process at a time (an
advisory lock on PostgreSQL, SQLite's single writer), so a batch of clicks is
never stored before the batch with its page view. A beacon the drain refuses
(its page view never arrived, its site was deleted meanwhile) stays in the inbox
with ``error`` set, for ``resonance drain --status``; it is not retried. Events
are judged one by one, as when stored at once: the drain stores a beacon's
valid events and leaves out the others. Those refused on arrival were named in
the answer already; those only the stored page views can refuse (the inbox
answered 204 before) are logged, and handed to the drain's caller to count (the
writer counts them in ``/metrics``; this module sits below the metrics' Flask).

Statistics: the drain makes the event tables grow, so after each chunk it has
:mod:`tracker.table_stats` analyse a table that outgrew its statistics (plans
made while a table was young scan it whole).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.dialect import RawSql
from resonance.core.engine import write_turn
from resonance.core.models import InboxBeacon
from tracker import table_stats
from tracker.beacon import BeaconError, Refusal
from tracker.ingest import PartlyStored, RequestMeta, ingest_many
from tracker.ingest_plan import LATE_REASONS

CHUNK = 64  # beacons per drain transaction, as in a group commit
LOCK_KEY = 0x7265736F  # PostgreSQL advisory lock: one drainer at a time
LOCK_WAIT_S = 0.02  # drain_all, while another process drains
# Errors that storing the beacon will always hit, unlike an outage: the beacon
# is set aside rather than retried forever.
PERMANENT = (
    IntegrityError,
    DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    psycopg.IntegrityError,
    psycopg.DataError,
)

Item = tuple[bytes, RequestMeta, datetime]
Sessions = Callable[[], Session]
# Told of the events a drain refused that the beacon's answer could not name.
OnRefused = Callable[[list[Refusal]], None]

log = logging.getLogger(__name__)

_COLUMNS = (
    ("received_at", "timestamp"),
    ("body", "text"),
    ("uid", "text"),
    ("user_agent", "text"),
    ("origin", "text"),
)
_TAKEN = "id, received_at, body, uid, user_agent, origin"


@dataclass(frozen=True)
class Waiting:
    """What the inbox holds: beacons to store, beacons set aside, the oldest."""

    beacons: int
    refused: int
    oldest: datetime | None


def put(session: Session, items: list[Item]) -> None:
    """Add admitted beacons (their meta holds the uid, no IP), in order, in the
    caller's transaction."""
    rows = [
        (naive_utc(now), body.decode(), meta.uid, meta.user_agent, meta.origin)
        for body, meta, now in items
    ]
    RawSql(session).insert("inbox", _COLUMNS, rows)


def drain(
    sessions: Sessions, limit: int = CHUNK, on_refused: OnRefused | None = None
) -> int | None:
    """Store the oldest waiting beacons, at most ``limit``; how many were taken
    (0: the inbox is empty), or None when another process is draining.
    ``on_refused`` is told of the events refused that the answers could not name
    (their page view never stored), once their transaction committed.

    One transaction stores them all and deletes them; should the database refuse
    it (a constraint nobody expected), each is stored alone and one that fails
    again is set aside. An outage propagates: nothing is lost, the caller retries.
    """
    with sessions() as session, write_turn(session):
        sql = RawSql(session)
        if not _lock(sql):
            return None
        rows = _take(sql, "SELECT id FROM inbox WHERE error IS NULL ORDER BY id"
                     f" LIMIT {int(limit)}")  # fmt: skip
        if not rows:
            session.commit()
            return 0
        try:
            late = _store(session, sql, rows)
            session.commit()
        except PERMANENT:
            session.rollback()
        else:
            _report(late, on_refused)
            table_stats.refresh_now_and_then(session)
            return len(rows)
    for row in rows:
        _drain_one(sessions, row[0], on_refused)
    return len(rows)


def drain_all(sessions: Sessions) -> int:
    """Store everything waiting (the CLI, erasure, tests); how many beacons this
    call stored. Waits its turn while another process drains, so that when it
    returns, everything committed to the inbox before the call is stored."""
    total = 0
    while True:
        taken = drain(sessions)
        if taken is None:
            time.sleep(LOCK_WAIT_S)
        elif taken == 0:
            return total
        else:
            total += taken


def waiting(session: Session) -> Waiting:
    """Counts for ``resonance drain --status`` and the benchmark."""
    beacons, refused, oldest = session.execute(
        select(
            func.count().filter(InboxBeacon.error.is_(None)),
            func.count().filter(InboxBeacon.error.is_not(None)),
            func.min(InboxBeacon.received_at).filter(InboxBeacon.error.is_(None)),
        )
    ).one()
    return Waiting(beacons, refused, oldest)


def has_waiting(session: Session) -> bool:
    """True when any beacon waits to be stored (one indexed look-up)."""
    return (
        session.scalar(
            select(InboxBeacon.id).where(InboxBeacon.error.is_(None)).limit(1)
        )
        is not None
    )


def _lock(sql: RawSql) -> bool:
    """Become the only drainer for this transaction (SQLite: the first write
    takes its single write lock, which does the same)."""
    if not sql.postgres:
        return True
    [(locked,)] = sql.query("SELECT pg_try_advisory_xact_lock(?)", [LOCK_KEY]).rows()
    return bool(locked)


def _take(sql: RawSql, ids: str, params: list | None = None) -> list[tuple]:
    """Delete the beacons ``ids`` selects, returning them in arrival order."""
    rows = sql.query(
        f"DELETE FROM inbox WHERE id IN ({ids}) RETURNING {_TAKEN}", params or []
    ).rows()
    return sorted(rows)


def _store(session: Session, sql: RawSql, rows: list[tuple]) -> list[Refusal]:
    """Store taken beacons; a refused one goes back, with its reason. Returns
    the events refused that only storing them could tell."""
    items = [
        (
            body.encode(),
            RequestMeta(ip="", user_agent=user_agent, origin=origin, uid=uid),
            sql.when(received_at).replace(tzinfo=UTC),
        )
        for _id, received_at, body, uid, user_agent, origin in rows
    ]
    results = ingest_many(session, items)
    late = [
        refusal
        for (id_, *_), result in zip(rows, results, strict=True)
        if isinstance(result, PartlyStored)
        for refusal in _late_refusals(id_, result)
    ]
    refused = [
        (id_, sql.when(received_at), body, uid, user_agent, origin,
         f"{result.status} {result.message}"[:500])
        for (id_, received_at, body, uid, user_agent, origin), result
        in zip(rows, results, strict=True)
        if isinstance(result, BeaconError)
    ]  # fmt: skip
    sql.insert("inbox", (("id", "int"), *_COLUMNS, ("error", "text")), refused)
    return late


def _late_refusals(id_: int, result: PartlyStored) -> list[Refusal]:
    """The events of a stored beacon refused for what only its storing could
    tell (its answer named the others already), logged."""
    late = [r for r in result.refused if r.reason in LATE_REASONS]
    if late:
        log.warning(
            "inbox beacon %s: stored without %d event(s): %s",
            id_,
            len(late),
            "; ".join(r.located for r in late)[:500],
        )
    return late


def _report(late: list[Refusal], on_refused: OnRefused | None) -> None:
    if late and on_refused is not None:
        on_refused(late)


def _drain_one(sessions: Sessions, id_: int, on_refused: OnRefused | None) -> None:
    """Store one beacon alone; set it aside if the database refuses it again."""
    with sessions() as session, write_turn(session):
        sql = RawSql(session)
        try:
            late = []
            if _lock(sql) and (rows := _take(sql, "?", [id_])):
                late = _store(session, sql, rows)
            session.commit()
            _report(late, on_refused)
            return
        except PERMANENT as exc:
            session.rollback()
            reason = f"database refused it: {str(exc).splitlines()[0]}"[:500]
        session.execute(
            InboxBeacon.__table__.update()
            .where(InboxBeacon.id == id_)
            .values(error=reason)
        )
        session.commit()
