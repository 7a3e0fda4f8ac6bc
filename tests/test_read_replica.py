"""The dashboards read a real streaming replica (``RESONANCE_DASHBOARD_DATABASE_URL``)
while the primary takes beacons; without the setting, one engine does it all.

The replica is a second cluster made from the local one with ``pg_basebackup``
(tests/replica.py), once per run. Which database served a request is told by
counting the statements each engine ran during it, and by holding the replica's
replay (``pg_wal_replay_pause``): what the primary then stores cannot be on the
replica, so a page that shows it read the primary and one that does not read
the replica, however short the lag of two clusters on one machine.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from conftest import (
    POSTGRES_URL,
    count,
    csrf_headers,
    log_in,
    post_batch,
    wait_for,
)
from factories import batch, pv
from flask import Flask
from flask.testing import FlaskClient
from replica import Replica, ReplicaError, caught_up, replay_paused, streaming_replica
from sqlalchemy import event
from sqlalchemy.orm import Session
from test_json_twins import NOT_PAGES, PAGES, _twin_problems, _url
from test_json_twins import seeded as seeded  # noqa: F401 - a fixture used below

from bench.replica_lag import lags
from dashboard.digests import unsubscribe_token
from resonance.app import create_app
from resonance.auth.users import create_user
from resonance.core import db
from resonance.core.models import PageView

ENV = "RESONANCE_DASHBOARD_DATABASE_URL"
ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
LAG_WAIT_S = 30  # a bound on waiting for the replica, not an expectation


@pytest.fixture(scope="session")
def replica(postgres_schema_url: str) -> Iterator[Replica]:
    """A streaming replica of the test cluster, for the whole run (the run's
    schema reaches it by replication like everything else)."""
    stack = ExitStack()
    try:
        made = stack.enter_context(streaming_replica(POSTGRES_URL))
    except ReplicaError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a streaming replica of {POSTGRES_URL}: {exc}")
        pytest.skip(f"no streaming replica: {exc}")
    with stack:
        yield made


@pytest.fixture
def app(database_url: str, replica: Replica, monkeypatch) -> Iterator[Flask]:
    """The app on the primary, its dashboards on the replica, configured from
    the environment as an operator would (``postgresql://`` included)."""
    replica_url = replica.url_of(database_url).replace("+psycopg", "", 1)
    monkeypatch.setenv(ENV, replica_url)
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret"}
    )
    yield app
    app.extensions["resonance.engine"].dispose()
    app.extensions["resonance.replica_engine"].dispose()


def synced(app: Flask) -> None:
    """Wait until the replica shows what the primary committed so far."""
    primary = app.extensions["resonance.engine"]
    assert caught_up(primary, app.extensions["resonance.replica_engine"], LAG_WAIT_S)


@contextmanager
def statements(app: Flask) -> Iterator[Counter]:
    """Count the statements each engine runs in the block from this thread (the
    test client's requests run in it; the collector's writer thread does not),
    by engine name."""
    seen: Counter = Counter()
    listeners = []
    thread = threading.get_ident()
    for name in ("engine", "replica_engine"):
        engine = app.extensions.get(f"resonance.{name}")
        if engine is None:
            continue

        def counted(*_args, name=name) -> None:
            if threading.get_ident() == thread:
                seen[name] += 1

        event.listen(engine, "before_cursor_execute", counted)
        listeners.append((engine, counted))
    try:
        yield seen
    finally:
        for engine, counted in listeners:
            event.remove(engine, "before_cursor_execute", counted)


def _listed_urls(client: FlaskClient) -> list[str]:
    response = client.get("/dash/sites/blog/content?format=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [row["url"] for row in response.json["content"]]


@ON_POSTGRESQL
def test_the_replica_url_comes_from_the_environment(app, replica):
    replica_engine = app.extensions["resonance.replica_engine"]

    assert replica_engine.url.port == replica.port
    assert replica_engine.url.drivername == "postgresql+psycopg"
    with replica_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_is_in_recovery()").scalar()


@ON_POSTGRESQL
def test_dashboards_read_the_replica_while_beacons_land_on_the_primary(
    app, client, anon_client, session: Session, site, replica
):
    synced(app)  # the admin and the site are on the replica
    url = "https://blog.example.com/launch"

    with replay_paused(replica):
        stored = post_batch(anon_client, batch(pv(url=url)))
        with statements(app) as seen:
            listed = _listed_urls(client)

        assert stored.status_code == 204
        assert count(session, PageView) == 1  # on the primary
        assert listed == []  # the replica has not replayed it
        assert seen["replica_engine"] > 0 and seen["engine"] == 0
    shown = wait_for(lambda: _listed_urls(client) == [url], LAG_WAIT_S, 0.05)

    assert shown, f"not on the replica's dashboard after {LAG_WAIT_S} s"


@ON_POSTGRESQL
def test_every_dashboard_get_is_served_by_the_replica_without_a_write(
    app: Flask, client, seeded
):
    synced(app)
    problems, primary = [], []
    for endpoint, url in _dashboard_gets(app, seeded, client.user):
        with statements(app) as seen:
            if endpoint in NOT_PAGES or endpoint.startswith("digest_public."):
                response = client.get(url, headers={"Accept": "text/html"})
                response.close()  # the PNG is streamed from an open file
                found = [] if response.status_code == 200 else [response.status]
            else:
                found = _twin_problems(client, url)
        problems += [f"{url}: {problem}" for problem in found]
        if seen["engine"]:
            primary.append(endpoint)

    assert problems == []
    assert primary == ["alerts.alert_rules"]  # marked: its GET makes the defaults


@ON_POSTGRESQL
def test_after_a_post_the_same_browser_reads_its_write_at_once(
    app: Flask, client, login_as, seeded, replica
):
    other = login_as("admin")
    synced(app)
    page = f"/dash/sites/blog/prospects/{seeded.lead_id}"
    body = "asked for the annual plan"
    headers = csrf_headers(client)

    with replay_paused(replica):
        posted = client.post(
            f"{page}/notes",
            data={"content_id": seeded.content_id, "body": body},
            headers=headers,
        )
        with statements(app) as seen:
            followed = client.get(posted.headers["Location"])
        elsewhere = other.get(page)
        with client.session_transaction() as browser:
            browser[db.PRIMARY_UNTIL] = 0  # the few seconds have passed
        later = client.get(page)

    assert posted.status_code == 303
    assert body in followed.get_data(as_text=True)
    assert seen["engine"] > 0 and seen["replica_engine"] == 0
    assert body not in elsewhere.get_data(as_text=True)  # another browser: replica
    assert body not in later.get_data(as_text=True)  # back on the replica


@ON_POSTGRESQL
def test_only_dashboard_reads_use_the_replica(app: Flask):
    asked = [
        ("GET", "/dash/sites/blog/content"),
        ("HEAD", "/dash/sites/blog/content"),
        ("GET", "/dash/sites/blog/alerts/rules"),
        ("POST", "/dash/sites/blog/content/1/kind"),
        ("GET", "/api/leads/1"),
        ("GET", "/login"),
        ("GET", "/healthz"),
        ("GET", "/r.js"),
    ]
    answers = {}
    for method, path in asked:
        with app.test_request_context(path, method=method):
            answers[f"{method} {path}"] = db.reads_replica()
    with app.app_context():  # a CLI command
        answers["command"] = db.reads_replica()

    assert [name for name, replica in answers.items() if replica] == [
        "GET /dash/sites/blog/content",
        "HEAD /dash/sites/blog/content",
    ]


@ON_POSTGRESQL
def test_the_lag_benchmark_times_beacons_until_the_replica_has_them(
    database_url, replica
):
    measured = lags(database_url, replica.url_of(database_url), 3, load_threads=1)

    assert len(measured) == 3 and min(measured) > 0


def test_without_the_setting_one_engine_serves_everything(
    database_url, monkeypatch, password_hash
):
    monkeypatch.delenv(ENV, raising=False)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "one"})
    try:
        with app.extensions["resonance.sessionmaker"]() as session:
            user = create_user(session, "ada", "admin", password_hash=password_hash)
            session.commit()
        client = log_in(app.test_client(), user)
        with statements(app) as seen:
            page = client.get("/dash/users/")
        posted = client.post(
            "/dash/digest/subscription",
            data={"receive": "1"},
            headers=csrf_headers(client),
        )
        with client.session_transaction() as browser:
            stamped = db.PRIMARY_UNTIL in browser

        assert [k for k in app.extensions if k.startswith("resonance.replica")] == []
        assert page.status_code == 200 and seen["engine"] > 0
        assert posted.status_code == 303 and not stamped
    finally:
        app.extensions["resonance.engine"].dispose()


def _dashboard_gets(app: Flask, seeded, user) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET route of the dashboard blueprints: the
    pages (tests/test_json_twins.py walks the same), the downloads and polls,
    and the digest's unsubscribe link."""
    urls = [(e, _url(app, e, seeded, user.username)) for e, _ in PAGES]
    urls += [(e, _url(app, e, seeded, user.username)) for e in sorted(NOT_PAGES)]
    token = unsubscribe_token(app.secret_key, user.id)
    urls.append(("digest_public.unsubscribe", f"/digest/unsubscribe/{token}"))
    served = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.endpoint.endswith(".static")
        and app.blueprints.get(rule.endpoint.rpartition(".")[0]) is not None
        and app.blueprints[rule.endpoint.rpartition(".")[0]].import_name.startswith(
            "dashboard."
        )
    }
    assert {e for e, _ in urls} == served, "a dashboard GET route is not walked"
    return urls
