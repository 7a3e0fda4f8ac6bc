"""Shared fixtures: the app on SQLite and PostgreSQL, a client, a session, a site.

Access: ``client`` is logged in as an admin (a fresh user per test);
``anon_client`` is logged in as nobody; ``login_as(role, sites=[...])`` gives a
client of a new user with that role and those site keys; ``csrf_headers(client)``
is what a POST from that client's pages carries. Browser tests log in through the
real login page: ``login_browser(page, base, live_user("sales", sites=["demo"]))``.

Every database test runs once per backend. SQLite gets a fresh copy of a migrated
file per test; PostgreSQL gets one schema per run (migrated once) and every table
emptied before each test. When ``CI`` is set PostgreSQL must be reachable: a
missing server fails the run instead of silently skipping half the suite.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import event_writers
import pytest
import smtp_server
import snippet_capture
from flask import Flask
from flask.testing import FlaskClient
from servers import NO_COLLECTOR_LIMIT, free_port, gunicorn  # noqa: F401 - tests import free_port here
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session

from resonance.app import create_app
from resonance.auth.users import create_user, hash_password
from resonance.core.engine import upgrade
from resonance.core.models import Base, Site, User
from tracker import sites, writer
from tracker.identity import forget_salts
from tracker.sites import create_site

event_writers.install()  # only tracker.ingest writes the event tables

# Engines that connected during the running test. An engine dropped without
# dispose() (a CLI command's app, say) keeps its pooled connections until the
# garbage collector meets it, and psycopg's "deleted while still open" warning
# then fails whichever later test happens to be running.
_connected: weakref.WeakSet[Engine] = weakref.WeakSet()
event.listen(Engine, "engine_connect", lambda conn: _connected.add(conn.engine))


@pytest.fixture(autouse=True)
def _close_idle_connections() -> Iterator[None]:
    """Dispose, when each test ends, the engines it connected: their idle
    connections close now, in the test that opened them."""
    _connected.clear()
    yield
    for engine in list(_connected):
        engine.dispose()


POSTGRES_URL = os.environ.get(
    "RESONANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ORIGIN = "https://blog.example.com"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def pytest_report_header(config) -> list[str]:
    return [f"databases: sqlite, postgresql ({POSTGRES_URL})"]


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema for this run, dropped at the end."""
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL at {POSTGRES_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"rs_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database, once per backend."""
    writer.stop_all()  # an earlier test's writer must not refill the caches
    sites.forget()
    forget_salts()
    if request.param == "sqlite":
        path = tmp_path / "resonance.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "COLLECTOR_RATE_LIMIT": NO_COLLECTOR_LIMIT,
        }
    )
    yield app
    app.extensions["resonance.engine"].dispose()


# --- users and logins ------------------------------------------------------------

TEST_PASSWORD = "correct horse battery staple"
_usernames = itertools.count(1)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The hash of ``TEST_PASSWORD``, computed once (scrypt takes ~0.1 s)."""
    return hash_password(TEST_PASSWORD)


@pytest.fixture
def make_user(session: Session, password_hash: str) -> Callable[..., User]:
    """``make_user(role, sites=[keys], username=None)``: a committed user whose
    password is ``TEST_PASSWORD``."""

    def make(role: str = "admin", sites=(), username: str | None = None) -> User:
        name = username or f"{role}-{next(_usernames)}"
        user = create_user(
            session, name, role, password_hash=password_hash, sites=list(sites)
        )
        session.commit()
        return user

    return make


def log_in(client: FlaskClient, user: User) -> FlaskClient:
    """Put ``user``'s session in ``client``: the cookie a real login would set
    (tests of the login form itself post to /login instead)."""
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session["uid"] = user.id
        flask_session["nonce"] = user.session_nonce
        flask_session.permanent = True
    return client


@pytest.fixture
def login_as(app: Flask, make_user) -> Callable[..., FlaskClient]:
    """``login_as(role, sites=[keys])``: a client of a new user; ``.user`` is it."""

    def login(role: str = "admin", sites=()) -> FlaskClient:
        user = make_user(role, sites)
        client = log_in(app.test_client(), user)
        client.user = user
        return client

    return login


@pytest.fixture
def client(login_as) -> FlaskClient:
    """A client logged in as an admin (sees every site)."""
    return login_as("admin")


@pytest.fixture
def anon_client(app: Flask) -> FlaskClient:
    """A client with no session: what the public (and an attacker) gets."""
    return app.test_client()


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token the dashboard's pages give ``client`` (it must be logged in;
    /dash/ takes a salesperson on to their prospects)."""
    html = client.get("/dash/", follow_redirects=True).get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found, "no CSRF token on /dash/: is the client logged in?"
    return found.group(1)


def form_csrf_token(html: str) -> str:
    """The CSRF token a page's form posts back in its hidden ``csrf_token`` field."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a csrf_token field"
    return found.group(1)


def csrf_headers(client: FlaskClient) -> dict[str, str]:
    """Headers for a POST as the dashboard's own pages make it."""
    return {"X-CSRFToken": csrf_token(client)}


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for arranging and asserting, apart from the requests' own."""
    with app.extensions["resonance.sessionmaker"]() as session:
        yield session


@pytest.fixture
def site(session: Session) -> Site:
    """A site in privacy mode "always" that allows ``ORIGIN``."""
    site = create_site(
        session, "Blog", origins=[ORIGIN], privacy_mode="always", key="blog"
    )
    session.commit()
    return site


@pytest.fixture
def demo_site(session: Session) -> Site:
    """The site the demo pages report to (key "demo", privacy "always")."""
    site = create_site(
        session, "Demo", origins=["http://localhost"], privacy_mode="always", key="demo"
    )
    session.commit()
    return site


def count(session: Session, model) -> int:
    """Rows of ``model`` (a fresh read, not the session's cache)."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def post_batch(
    client: FlaskClient, batch: dict | bytes, *, origin: str | None = ORIGIN, **headers
):
    """POST a beacon like the snippet does (text/plain JSON)."""
    body = batch if isinstance(batch, bytes) else json.dumps(batch).encode()
    headers.setdefault("User-Agent", BROWSER_UA)
    headers.setdefault("Content-Type", "text/plain;charset=UTF-8")
    if origin:
        headers["Origin"] = origin
    return client.post("/e", data=body, headers=headers)


# --- a real server and a real browser -------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def live_server(database_url: str, tmp_path) -> Iterator[str]:
    """gunicorn serving ``wsgi:app`` on a free port over the test database.

    Its log is printed when ``RESONANCE_SHOW_SERVER_LOG`` is set, so a browser
    test that sees nothing arrive shows what the server said.
    """
    try:
        with gunicorn(database_url, tmp_path / "gunicorn.log") as server:
            yield server.base
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {CHROMIUM}: run scripts/test.sh to install it")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # The user agent is set on the browser, not only per context: beacons
        # sent while a page unloads carry the browser's own ("HeadlessChrome"),
        # which the collector rightly files as a bot.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--user-agent={BROWSER_UA}"],
        )
        yield browser
        browser.close()


@dataclass(frozen=True)
class Credentials:
    """What a person types on the login page."""

    username: str
    password: str


@pytest.fixture
def live_user(live_server: str, make_user) -> Callable[..., Credentials]:
    """``live_user(role, sites=[keys])``: a user in the live server's database."""

    def make(role: str = "admin", sites=()) -> Credentials:
        return Credentials(make_user(role, sites).username, TEST_PASSWORD)

    return make


def login_browser(page, base_url: str, user: Credentials) -> None:
    """Log ``page``'s browser context in through the real login form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)
    with page.expect_navigation():
        page.click("form.login-form button[type=submit]")
    assert "/login" not in page.url, "the login was refused"


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; return that value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# The snippet against a capturing collector (tests/snippet_capture.py): one
# server and one Chromium per test module, a fresh browser context per test.
@pytest.fixture(scope="module")
def snippet_servers() -> Iterator[tuple[snippet_capture.Capture, str]]:
    yield from snippet_capture.serve()


@pytest.fixture(scope="module")
def snippet_chromium(request: pytest.FixtureRequest) -> Iterator[object]:
    yield from snippet_capture.launch(request)


@pytest.fixture
def snippet(
    snippet_chromium: object, snippet_servers: tuple[snippet_capture.Capture, str]
) -> Iterator[snippet_capture.SnippetRun]:
    yield from snippet_capture.run(snippet_chromium, snippet_servers)


@pytest.fixture
def smtp() -> Iterator[smtp_server.Inbox]:
    """A real SMTP server on 127.0.0.1; ``smtp.config`` points the app at it."""
    with smtp_server.smtp_server() as inbox:
        yield inbox
