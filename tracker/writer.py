"""Group commit: one transaction for the beacons that arrive together.

Owns: a per-process writer thread that takes every beacon waiting when it is free,
stores them with :func:`tracker.ingest.ingest_many` in one transaction, and
answers each request only after the commit that holds it. Durability is
unchanged (nothing is acknowledged before its commit); what is saved is a commit
(an fsync on PostgreSQL) and the per-statement cost for all but one of them.

A batch that is refused stores nothing and does not affect the others (the plan
leaves it out). Should the group's transaction fail in the database (a deadlock,
a lock timeout, a constraint nobody expected), every batch of the group is retried
alone in its own transaction, so one bad batch cannot take the others down.

There is no added wait: while a group is being written the next one gathers, so
groups grow with the load and a lone beacon is written at once.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from tracker.beacon import Batch, BeaconError, parse
from tracker.ingest import RequestMeta, ingest_many

MAX_GROUP = 64  # beacons per transaction; bounds memory and statement size
IDLE_SECONDS = 1.0  # an idle writer thread ends (tests create many apps)
SWITCH_INTERVAL = 0.0005  # seconds; see GroupWriter._run


@dataclass(eq=False)
class _Pending:
    body: Batch
    meta: RequestMeta
    now: datetime
    done: threading.Event = field(default_factory=threading.Event)
    result: int | BaseException | None = None


class GroupWriter:
    """Stores beacons through one writer thread per process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, body: bytes, meta: RequestMeta, now: datetime) -> int:
        """Store one beacon; return its event count once committed.

        Raises :class:`BeaconError` when refused, or the database's exception.
        The body is validated here, in the request's thread, while the writer
        is busy with the database.
        """
        pending = _Pending(parse(body, now), meta, now)
        self._queue.put(pending)
        self._ensure_thread()
        pending.done.wait()
        if isinstance(pending.result, BaseException):
            raise pending.result
        return pending.result

    def _ensure_thread(self) -> None:
        # Under the lock: an idle thread decides to end under it too, so a beacon
        # queued meanwhile is never left without a writer. A thread started before
        # a fork does not exist in the child: is_alive() is False there.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="resonance-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        # The writer gives the GIL up at every statement (SQLite releases it while
        # it works, PostgreSQL while the answer travels) and then waits for it
        # behind request threads for up to the switch interval (5 ms by default),
        # which would be most of a group's time. A shorter interval keeps the one
        # serial path of the process moving.
        sys.setswitchinterval(SWITCH_INTERVAL)
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        self._close()
                        return
                continue
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[_Pending]) -> None:
        results = store_group(self._session, [(p.body, p.meta, p.now) for p in group])
        for pending, result in zip(group, results, strict=True):
            pending.result = result
            pending.done.set()

    def _session(self) -> Session:
        """A session on the writer's own connection, held between groups: a pool
        checkout (and its liveness ping) per group would cost a round trip."""
        if self._connection is not None and (
            self._connection.closed or self._connection.invalidated
        ):
            self._close()
        if self._connection is None:
            self._connection = self._engine.connect()
        return Session(bind=self._connection, expire_on_commit=False)

    def _close(self) -> None:
        """Close the held connection for real: back in a pool that the app
        disposed of meanwhile (tests do), it would be dropped unclosed."""
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


Item = tuple[bytes | Batch, RequestMeta, datetime]


def store_group(
    sessionmaker: Callable[[], Session], items: list[Item]
) -> list[int | BaseException]:
    """Store beacons in one transaction, else each alone; per beacon, its event
    count or the exception to answer (a :class:`BeaconError` or the database's)."""
    try:
        return _transaction(sessionmaker, items)
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
        if len(items) == 1:
            return [exc]
    return [_alone(sessionmaker, item) for item in items]


def _alone(sessionmaker: Callable[[], Session], item: Item) -> int | BaseException:
    try:
        [result] = _transaction(sessionmaker, [item])
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
        return exc
    return result


def _transaction(
    sessionmaker: Callable[[], Session], items: list[Item]
) -> list[int | BeaconError]:
    with sessionmaker() as session:
        results = ingest_many(session, items, commit=True)
        session.commit()
    return results


def writer_of(extensions: dict) -> GroupWriter:
    """The app's writer (an app lives in one process), created on first use."""
    writer = extensions.get("resonance.writer")
    if writer is None:
        writer = extensions.setdefault(
            "resonance.writer", GroupWriter(extensions["resonance.engine"])
        )
    return writer
