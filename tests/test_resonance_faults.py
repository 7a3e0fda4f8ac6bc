"""No lost events under faults, on a live gunicorn.

- The database goes away (a TCP proxy between the app and PostgreSQL is cut:
  connections closed, new ones refused, then black-holed) and comes back: the
  collector answers 503 + Retry-After within seconds, never a 500 or a hang, and
  204 again once it is back, by itself.
- Under load, the master is told to reload (HUP) and a worker is killed (-9).

In both, every batch that got a 2xx has its events stored exactly once. The
shared PostgreSQL server itself is never stopped.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from conftest import BROWSER_UA, ORIGIN
from factories import batch, click, pv
from servers import gunicorn
from sqlalchemy import create_engine, func, make_url, select
from sqlalchemy.orm import Session

from resonance.app import create_app
from resonance.core.models import Click, PageView
from tracker.inbox import waiting
from tracker.sites import create_site

# Bounds that tell "answered" apart from "hung"; the engine's timeouts are 3–5 s.
NO_HANG_S = 10
CLIENT_TIMEOUT_S = 30


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to an upstream, that a test can cut and restore.

    ``cut("refuse")`` closes every proxied connection and closes new ones at once;
    ``cut("blackhole")`` accepts new ones and never answers (a dead network, which
    only a connect timeout gets out of); ``restore()`` proxies again.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "open"
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            with self.lock:
                mode = self.mode
                if mode != "refuse":
                    self.sockets.add(client)
            if mode == "refuse":
                client.close()
            elif mode == "open":
                upstream = socket.create_connection(self.upstream)
                with self.lock:
                    self.sockets.add(upstream)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(
                        target=self._pump, args=(a, b), daemon=True
                    ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            doomed = list(self.sockets)
        for sock in doomed:
            self._drop(sock)

    def restore(self) -> None:
        self.cut("open")  # black-holed connections are dropped too

    def close(self) -> None:
        self.cut("refuse")
        self.listener.close()


@dataclass
class Outcome:
    """What one POST got: a status (0 for a broken connection) and how long."""

    pv_id: str
    status: int
    seconds: float
    retry_after: str | None = None


@dataclass
class Sender:
    """Posts unique batches (a page view and two clicks) to a live server."""

    base: str
    prefix: str
    outcomes: list[Outcome] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self):
        self.host, port = self.base.removeprefix("http://").split(":")
        self.port = int(port)
        self.connection: http.client.HTTPConnection | None = None

    def new_batch(self) -> tuple[str, bytes]:
        self.sent += 1
        pid = f"pv{self.prefix}{self.sent:08d}"
        body = batch(
            pv(pid), click(pid), click(pid), v=f"v{self.prefix}{self.sent:08d}"
        )
        return pid, json.dumps(body).encode()

    def post(self, pid: str, body: bytes) -> Outcome:
        started = time.monotonic()
        headers = {
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": ORIGIN,
            "User-Agent": BROWSER_UA,
        }
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=CLIENT_TIMEOUT_S
                )
            self.connection.request("POST", "/e", body, headers)
            response = self.connection.getresponse()
            response.read()
            outcome = Outcome(
                pid,
                response.status,
                time.monotonic() - started,
                response.getheader("Retry-After"),
            )
        except (OSError, http.client.HTTPException):
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            outcome = Outcome(pid, 0, time.monotonic() - started)
        self.outcomes.append(outcome)
        return outcome

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _signed_in_cookie() -> str:
    """A session cookie naming a user, signed with the server's secret: the login
    check must then reach the database (an anonymous request never does)."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": "sqlite://"}
    )
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({"uid": 1, "nonce": "n"})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def _get(base: str, path: str) -> SimpleNamespace:
    """GET a page as a signed-in user: its status, Retry-After header and body."""
    connection = http.client.HTTPConnection(
        base.removeprefix("http://"), timeout=CLIENT_TIMEOUT_S
    )
    try:
        connection.request("GET", path, headers={"Cookie": _signed_in_cookie()})
        response = connection.getresponse()
        return SimpleNamespace(
            status=response.status,
            retry_after=response.getheader("Retry-After"),
            body=response.read().decode(),
        )
    finally:
        connection.close()


def _inbox_empty(database_url: str) -> bool:
    engine = create_engine(database_url)
    with Session(engine) as session:
        left = waiting(session)
    engine.dispose()
    assert not left.refused
    return left.beacons == 0


def _stored(database_url: str, pv_ids: set[str]) -> tuple[Counter, int]:
    """How many times each page view id is stored, and the clicks of those views
    (read straight from the database, not through any proxy)."""
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(PageView.event_id, func.count()).group_by(PageView.event_id)
        ).all()
        clicks = (
            session.scalar(
                select(func.count())
                .select_from(Click)
                .join(PageView, PageView.id == Click.pageview_id)
                .where(PageView.event_id.in_(pv_ids))
            )
            if pv_ids
            else 0
        )
    engine.dispose()
    stored = Counter({event_id: n for event_id, n in rows})
    return stored, clicks


@pytest.fixture
def blog(session):
    create_site(session, "Blog", origins=[ORIGIN], privacy_mode="always", key="blog")
    session.commit()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_cut_gives_fast_503_then_recovers_and_loses_nothing(
    database_url, blog, tmp_path
):
    url = make_url(database_url)
    proxy = CuttableProxy((url.host, url.port or 5432))
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    stop = threading.Event()
    phases: list[tuple[str, int]] = []  # (phase, index of the first outcome in it)

    with gunicorn(proxied, tmp_path / "gunicorn.log") as server:
        sender = Sender(server.base, "cut")

        def send_until_stopped() -> None:
            # Like the snippet: a batch is kept and re-sent until a 2xx.
            while not stop.is_set():
                pid, body = sender.new_batch()
                while sender.post(pid, body).status // 100 != 2 and not stop.is_set():
                    time.sleep(0.2)

        loader = threading.Thread(target=send_until_stopped)
        loader.start()
        for phase, mode, seconds in (
            ("up", None, 1.5),
            ("refused", "refuse", 3),
            ("black hole", "blackhole", 5),
            ("back", "open", 3),
        ):
            phases.append((phase, len(sender.outcomes)))
            if mode:
                proxy.cut(mode)
            if phase == "refused":
                dash = _get(server.base, "/dash/")
            time.sleep(seconds)
        stop.set()
        loader.join(60)
        sender.close()
    proxy.close()

    outcomes = sender.outcomes
    statuses = Counter(o.status for o in outcomes)
    during = outcomes[phases[1][1] : phases[3][1]]
    after = outcomes[phases[3][1] :]
    accepted = {o.pv_id for o in outcomes if o.status == 204}
    stored, clicks = _stored(database_url, accepted)
    print(
        f"\ndatabase cut: {len(outcomes)} requests, statuses {dict(statuses)}, "
        f"{len(accepted)} batches accepted, {sum(stored.values())} page views stored, "
        f"slowest answer {max(o.seconds for o in outcomes):.1f} s"
    )

    assert set(statuses) <= {204, 503}, statuses  # never a 500, never a reset
    assert all(o.seconds < NO_HANG_S for o in outcomes)
    assert any(o.status == 503 for o in during)
    assert all(o.retry_after == "5" for o in outcomes if o.status == 503)
    assert (dash.status, dash.retry_after) == (503, "5")
    assert "Temporarily unavailable" in dash.body
    assert [o.status for o in after[-5:]] == [204] * 5  # back by itself
    assert all(stored[pid] == 1 for pid in accepted)
    assert set(stored) == accepted  # re-sent batches were stored once
    assert clicks == 2 * len(accepted)


THREADS, PER_THREAD = 6, 60


def _wait(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_reload_and_a_killed_worker_under_load_lose_no_accepted_event(
    database_url, blog, tmp_path
):
    with gunicorn(database_url, tmp_path / "gunicorn.log") as server:
        senders = [Sender(server.base, f"t{n}x") for n in range(THREADS)]

        def load(sender: Sender) -> None:
            for _ in range(PER_THREAD):
                sender.post(*sender.new_batch())
            sender.close()

        def progress() -> int:
            return sum(len(s.outcomes) for s in senders)

        threads = [threading.Thread(target=load, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        total = THREADS * PER_THREAD
        original = set(server.workers())
        _wait(lambda: progress() >= total // 3)
        server.signal(signal.SIGHUP)  # graceful reload: new workers, old ones drain
        _wait(lambda: len(set(server.workers()) - original) == 2)
        _wait(lambda: progress() >= 2 * total // 3)
        victim = server.busiest_worker()
        os.kill(victim, signal.SIGKILL)
        for thread in threads:
            thread.join(120)
        _wait(lambda: victim not in server.workers() and len(server.workers()) == 2)
        after = Sender(server.base, "after")
        final = after.post(*after.new_batch())
        after.close()
        # What the killed worker committed to the inbox, the survivors store.
        _wait(lambda: _inbox_empty(database_url))

    outcomes = [o for s in senders for o in s.outcomes]
    statuses = Counter(o.status for o in outcomes)
    accepted = {o.pv_id for o in outcomes if o.status // 100 == 2}
    stored, clicks = _stored(database_url, accepted)
    sent = {o.pv_id for o in outcomes} | {final.pv_id}
    print(
        f"\nHUP + kill -9 ({database_url.split(':')[0]}): {len(outcomes)} requests, "
        f"statuses {dict(sorted(statuses.items()))} (0 = connection broken), "
        f"{len(accepted)} accepted, {sum(stored[p] for p in accepted)} of their page "
        f"views and {clicks} clicks stored, "
        f"{len(set(stored) - accepted - {final.pv_id})} stored from unanswered requests"
    )

    assert len(outcomes) == total
    assert set(statuses) <= {0, 204, 503}, statuses  # never a 500
    assert statuses[204] > total // 4  # the load really ran
    assert all(stored[pid] == 1 for pid in accepted)
    assert clicks == 2 * len(accepted)
    assert set(stored) <= sent
    assert final.status == 204 and stored[final.pv_id] == 1
