"""Group commit: one transaction for the beacons that arrive together.

Owns: the process's writer thread. It takes every beacon waiting when it is free,
stores them in one transaction and answers each request only after the commit
that holds it, so nothing is acknowledged before it is durable and a group
shares one commit. A refused batch stores nothing and leaves the others alone,
as a refused event leaves the rest of its batch; a group whose transaction
fails is retried batch by batch. There is no added wait: groups grow with the
load.

Under load a group of ``INBOX_FROM_GROUP`` beacons or more is committed to the
inbox instead (``tracker.inbox``, one statement), and while anything of this
process waits there every group follows it, so beacons are stored in the order
they came. The thread stores the inbox with the CPU answering beacons leaves
(:class:`_Load`), or leaves it to a ``resonance drain --follow`` process when
``DRAIN_IN_WORKERS`` is false. The measurements behind these rules and their
thresholds: bench/RESULTS.md; when to add workers or a drain process:
docs/scaling.md.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from resonance.core.engine import write_turn
from resonance.core.metrics import GROUPS, events_refused
from tracker import inbox
from tracker.beacon import BeaconError, Parsed, Refusal, parse
from tracker.ingest import (
    PartlyStored,
    RequestMeta,
    UnknownPageView,
    admit,
    ingest_many,
)
from tracker.ingest_plan import Outcome

MAX_GROUP = 64  # beacons per transaction; bounds memory and statement size
IDLE_SECONDS = 1.0  # an idle writer thread ends (tests create many apps)
INBOX_FROM = 4  # beacons in a group from which it goes to the inbox
DRAIN_IDLE_S = 0.02  # no beacon for this long: store a chunk of the inbox
SPARE_BELOW = 0.8  # cores used by this process: below, it stores after each group
IDLE_AT_LEAST = 0.5  # if the machine had this many idle cores too
LOAD_WINDOW_S = 0.5  # over which that is measured
DRAIN_AT_LEAST_S = 5.0  # and however busy it is, a chunk this often
RETRY_DRAIN_S = 5.0  # after a failed drain (the database away)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc/stat
# Group sizes for /metrics, by where the group is committed (children bound once).
_TO_EVENTS, _TO_INBOX = GROUPS["events"], GROUPS["inbox"]

log = logging.getLogger(__name__)


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Pending:
    """A beacon waiting for its commit. ``done`` is a lock held until the
    writer releases it with the result: one primitive per beacon, where an
    Event costs a Condition and a lock per wait."""

    raw: bytes
    body: Parsed
    meta: RequestMeta
    now: datetime
    done: threading.Lock = field(default_factory=_held_lock)
    result: Outcome | BaseException | None = None


class _Load:
    """Whether this process and its machine had CPU to spare over the last
    window. Read by the writer thread only.

    Both: a lone worker is one GIL, saturated when it uses a whole core while
    the machine may still have some idle; two workers on two cores saturate the
    machine while each uses less than a core.
    """

    def __init__(self) -> None:
        self._since = time.monotonic()
        self._cpu = time.process_time()
        self._idle = _idle_seconds()
        self._spare = False

    def spare(self) -> bool:
        """The last full window's answer (a new window starts when it is over)."""
        now = time.monotonic()
        if now - self._since >= LOAD_WINDOW_S:
            cpu, idle = time.process_time(), _idle_seconds()
            seconds = now - self._since
            process = (cpu - self._cpu) / seconds
            known = idle is not None and self._idle is not None
            machine = (idle - self._idle) / seconds if known else None
            self._spare = process < SPARE_BELOW and (
                machine is None or machine >= IDLE_AT_LEAST
            )
            self._since, self._cpu, self._idle = now, cpu, idle
        return self._spare


def _idle_seconds() -> float | None:
    """The machine's idle CPU time since boot, all cores (Linux's /proc/stat:
    idle and iowait); None elsewhere, where the process's own figure decides."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()
        return (int(fields[4]) + int(fields[5])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


class GroupWriter:
    """Stores beacons through one writer thread per process."""

    def __init__(
        self, engine: Engine, inbox_from: int = INBOX_FROM, drains: bool = True
    ) -> None:
        self._engine = engine
        self._inbox_from = inbox_from
        self._drains = drains  # False: a `resonance drain --follow` stores the inbox
        self._connections: dict[bool, Connection] = {}  # by autocommit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._backlog = False  # beacons of this process may wait in the inbox
        self._next_drain = 0.0  # time.monotonic() of the next forced drain
        self._load = _Load()
        self._drain_after = 0.0  # no drain before (after one failed)

    def submit(self, body: bytes, meta: RequestMeta, now: datetime) -> Outcome:
        """Store one beacon; return its event count once committed, with the
        events refused one by one if any (:class:`PartlyStored`).

        Raises :class:`BeaconError` when refused whole, or the database's exception.
        The body is validated here, in the request's thread, while the writer
        is busy with the database.
        """
        pending = _Pending(body, parse(body, now), meta, now)
        self._queue.put(pending)
        self._ensure_thread()
        pending.done.acquire()  # released by the writer with the result
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
        # Beacons another process left in the inbox (it stopped) are drained too.
        self._backlog = self._drains and bool(self._inbox_from) and self._inbox_waits()
        while True:
            if self._stopping.is_set() and self._end_if_idle():
                return
            try:
                first = self._queue.get(
                    timeout=DRAIN_IDLE_S if self._backlog else IDLE_SECONDS
                )
                if first is None:  # stop() waking the thread
                    continue
            except queue.Empty:
                if self._backlog:
                    self._drain()
                    continue
                if self._drains and self._inbox_from and self._inbox_waits():
                    self._backlog = True  # left by a process that stopped
                    continue
                if self._end_if_idle():
                    return
                continue
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    group.append(item)
            if self._backlog or 0 < self._inbox_from <= len(group):
                _TO_INBOX.observe(len(group))
                self._answer(group, self._put(group))
            else:
                _TO_EVENTS.observe(len(group))
                self._write(group)
            if self._backlog and (
                self._load.spare() or time.monotonic() >= self._next_drain
            ):
                self._drain()

    def _end_if_idle(self) -> bool:
        """End the thread unless a beacon waits; under the lock that
        _ensure_thread takes, so a beacon queued meanwhile gets a writer."""
        with self._lock:
            if not self._queue.empty():
                return False
            self._thread = None
            self._close()
            return True

    def stop(self, timeout: float = 5.0) -> None:
        """End the writer thread once the beacons it holds are answered, without
        storing the inbox (it waits for the next writer). For an app going away
        while its process goes on: tests build many apps, and a writer of the
        last one must not work while the next one is set up."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        thread.join(timeout)
        self._stopping.clear()

    def _write(self, group: list[_Pending]) -> None:
        """Store the group's events now; a beacon with events of an unknown page
        view waits in the inbox if others do (its page view may be among them).
        What of it was stored already is stored again harmlessly from there."""
        results = store_group(self._session, [(p.body, p.meta, p.now) for p in group])
        early = [i for i, r in enumerate(results) if waits_for_page_view(r)]
        if early and self._inbox_from and self._inbox_waits():
            for index, result in zip(
                early, self._put([group[i] for i in early]), strict=True
            ):
                results[index] = result
        self._answer(group, results)

    def _put(self, group: list[_Pending]) -> list[Outcome | BaseException]:
        """Commit the group to the inbox: per beacon, its event count (accepted)
        with the events refused already, or why it is refused whole (what can be
        checked before its events are stored).

        The group is one ``INSERT``, run in autocommit: the statement is its own
        transaction, so there is no ``BEGIN`` and no ``COMMIT`` to send. On
        PostgreSQL each of those is a round trip; on SQLite each is three calls
        that let go of the GIL, and with sixteen request threads waiting for it
        every one costs the writer a wait and a context switch.
        """
        results: list[Outcome | BaseException] = []
        admitted = []
        try:
            with self._session(autocommit=True) as session, write_turn(session):
                for p in group:
                    try:
                        meta, answer = admit(session, p.body, p.meta, p.now)
                    except BeaconError as exc:
                        results.append(exc)
                    else:
                        admitted.append((p.raw, meta, p.now))
                        results.append(answer)
                if admitted:
                    inbox.put(session, admitted)  # committed by itself
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            return [exc] * len(group)
        if admitted and self._drains and not self._backlog:
            self._backlog = True
            self._next_drain = time.monotonic() + DRAIN_AT_LEAST_S
        return results

    def _drain(self) -> None:
        """Store a chunk of the inbox; done when it is empty."""
        now = time.monotonic()
        if now < self._drain_after:
            return  # the last one failed: the database gets its time
        self._next_drain = now + DRAIN_AT_LEAST_S
        try:
            taken = inbox.drain(self._session, on_refused=_count_refused)
        except Exception:
            log.exception("storing the inbox failed; retrying in %s s", RETRY_DRAIN_S)
            self._drain_after = time.monotonic() + RETRY_DRAIN_S
            return
        if taken == 0:
            self._backlog = False

    def _inbox_waits(self) -> bool:
        try:
            with self._session() as session:
                return inbox.has_waiting(session)
        except Exception as exc:  # noqa: BLE001 - the database away: next time
            log.warning("the inbox could not be read: %s", str(exc).splitlines()[0])
            return False

    @staticmethod
    def _answer(group: list[_Pending], results: list[Outcome | BaseException]) -> None:
        for pending, result in zip(group, results, strict=True):
            pending.result = result
            pending.done.release()

    def _session(self, autocommit: bool = False) -> Session:
        """A session on one of the writer's own connections, held between groups:
        a pool checkout (and its liveness ping) per group would cost a round trip.
        ``autocommit``: each statement commits itself (the inbox's appends)."""
        connection = self._connections.get(autocommit)
        if connection is not None and (connection.closed or connection.invalidated):
            self._close()
            connection = None
        if connection is None:
            connection = self._engine.connect()
            if autocommit:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connections[autocommit] = connection
        return Session(bind=connection, expire_on_commit=False)

    def _close(self) -> None:
        """Close the held connections for real: back in a pool that the app
        disposed of meanwhile (tests do), they would be dropped unclosed."""
        for connection in self._connections.values():
            connection.invalidate()
            connection.close()
        self._connections.clear()


Item = tuple[bytes | Parsed, RequestMeta, datetime]


def _count_refused(refused: list[Refusal]) -> None:
    """Events the drain refused after their beacon was answered, in /metrics."""
    events_refused(r.reason for r in refused)


def waits_for_page_view(result: Outcome | BaseException) -> bool:
    """Whether a beacon's events were refused, in whole or in part, for a page
    view that is not stored: it may be waiting in the inbox."""
    if isinstance(result, PartlyStored):
        return result.waits_for_page_view()
    return isinstance(result, UnknownPageView)


def store_group(
    sessionmaker: Callable[[], Session], items: list[Item]
) -> list[Outcome | BaseException]:
    """Store beacons in one transaction, else each alone; per beacon, its event
    count (with its refused events, if any) or the exception to answer (a
    :class:`BeaconError` or the database's).

    A lone beacon is tried again only after a constraint failed: its page view
    stored meanwhile by another process (the same batch sent twice at once, as
    the snippet does when a page goes away) is found by the second try. An
    outage is not tried again here: the request is answered 503 at once.
    """
    try:
        return _transaction(sessionmaker, items)
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
        if len(items) == 1 and not isinstance(exc, inbox.PERMANENT):
            return [exc]
    return [_alone(sessionmaker, item) for item in items]


def _alone(sessionmaker: Callable[[], Session], item: Item) -> Outcome | BaseException:
    try:
        [result] = _transaction(sessionmaker, [item])
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
        return exc
    return result


def _transaction(
    sessionmaker: Callable[[], Session], items: list[Item]
) -> list[Outcome | BeaconError]:
    with sessionmaker() as session, write_turn(session):
        results = ingest_many(session, items, commit=True)
        session.commit()
    return results


_writers: weakref.WeakSet[GroupWriter] = weakref.WeakSet()


def writer_of(
    extensions: dict, inbox_from: int = INBOX_FROM, drains: bool = True
) -> GroupWriter:
    """The app's writer (an app lives in one process), created on first use."""
    writer = extensions.get("resonance.writer")
    if writer is None:
        writer = extensions.setdefault(
            "resonance.writer",
            GroupWriter(extensions["resonance.engine"], inbox_from, drains),
        )
        _writers.add(writer)
    return writer


def stop_all() -> None:
    """Stop the writer threads of every app of this process (see stop)."""
    for writer in list(_writers):
        writer.stop()
