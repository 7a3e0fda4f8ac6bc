"""A database that is away or stuck gives 503 + Retry-After within seconds, never
a 500 or a hang, and the app serves again by itself once it is back."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from conftest import count, free_port, post_batch
from factories import batch, click, pv
from sqlalchemy import create_engine, text

from resonance.app import create_app
from resonance.cli import cli
from resonance.core.models import Click, PageView, RollupState
from tracker import sites

# The waits are bounded by the engine's timeouts (a few seconds); this bound only
# tells "answered" apart from "hung".
NO_HANG_S = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_app(request, tmp_path):
    """The app over a database that cannot be reached: a SQLite file in a folder
    that does not exist, or a PostgreSQL port nobody listens on. The site cache
    is emptied: an earlier test's "blog" would answer GET /e without a query."""
    sites.forget()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing' / 'resonance.db'}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "t"})
    yield app
    app.extensions["resonance.engine"].dispose()


def test_collector_answers_503_json_with_retry_after_when_database_is_unreachable(
    unreachable_app,
):
    client = unreachable_app.test_client()
    response = post_batch(client, batch(pv()))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": "database unavailable, retry later"}
    assert response.headers["Access-Control-Allow-Origin"] == "https://blog.example.com"


def signed_in(app):
    """A client whose cookie names a user, so the login check itself must reach
    the database (an anonymous visitor is turned away before any query)."""
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["uid"], cookie["nonce"] = 1, "n"
    return client


@pytest.mark.parametrize(
    "path", ["/e?s=blog", "/healthz", "/dash/?format=json", "/api/leads/x"]
)
def test_machine_endpoints_answer_503_json_when_database_is_unreachable(
    unreachable_app, path
):
    headers = {"Authorization": "Bearer abc"} if path.startswith("/api") else {}
    response = signed_in(unreachable_app).get(path, headers=headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "database unavailable, retry later"


@pytest.mark.parametrize("path", ["/dash/", "/dash/sites/blog/content"])
def test_dashboard_pages_answer_a_friendly_503_page(unreachable_app, path):
    response = signed_in(unreachable_app).get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Temporarily unavailable" in page
    assert "Traceback" not in page and "OperationalError" not in page


class _Lock:
    """Holds a write lock the collector needs, from another connection."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.release = threading.Event()
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        if self.url.startswith("sqlite"):
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            connection.execute("BEGIN IMMEDIATE")  # the one writer's lock
            self.held.set()
            self.release.wait()
            connection.rollback()
            connection.close()
            return
        engine = create_engine(self.url)
        with engine.connect() as connection:
            # A lock on the sites row, as a long migration or a site edit would;
            # every beacon's visitor insert checks the row it points to (FK).
            connection.execute(text("SELECT id FROM sites FOR UPDATE"))
            self.held.set()
            self.release.wait()
            connection.rollback()
        engine.dispose()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


def test_locked_database_gives_503_in_seconds_then_the_batch_is_stored_once(
    app, client, session, site, database_url
):
    body = batch(pv("pvlocked0001"), click("pvlocked0001"))

    with _Lock(database_url):
        started = time.monotonic()
        refused = post_batch(client, body)
        waited = time.monotonic() - started
    retried = post_batch(client, body)
    again = post_batch(client, body)

    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "5"
    assert waited < NO_HANG_S
    assert (retried.status_code, again.status_code) == (204, 204)
    assert count(session, PageView) == 1
    assert count(session, Click) == 1


def test_purge_behind_a_lock_fails_in_seconds_with_a_message_and_changes_nothing(
    runner, session, site, database_url
):
    with _Lock(database_url):
        started = time.monotonic()
        result = runner.invoke(cli, ["purge", "--older-than", "13m"])
        waited = time.monotonic() - started

    assert result.exit_code == 1
    assert "nothing changed, the database said:" in result.output
    assert "Traceback" not in result.output
    assert waited < NO_HANG_S
    assert count(session, RollupState) == 0
