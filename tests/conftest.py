"""Shared fixtures: the app on SQLite and PostgreSQL, a client, a session, a site.

Every database test runs once per backend. SQLite gets a fresh copy of a migrated
file per test; PostgreSQL gets one schema per run (migrated once) and every table
emptied before each test. When ``CI`` is set PostgreSQL must be reachable: a
missing server fails the run instead of silently skipping half the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from resonance import create_app, db
from tracker import sites
from tracker.identity import forget_salts
from tracker.models import Base, Site
from tracker.sites import create_site

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
    db.upgrade(f"sqlite:///{path}")
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
    db.upgrade(url)
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
        }
    )
    yield app
    app.extensions["resonance.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(database_url: str, tmp_path) -> Iterator[str]:
    """gunicorn serving ``wsgi:app`` on a free port over the test database.

    Its log is printed when the test fails, so a browser test that sees nothing
    arrive shows what the server said.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "RESONANCE_DEMO_SITE_KEY": "demo",
    }
    root = Path(__file__).resolve().parent.parent
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "wsgi:app",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start:\n" + log.read_text())
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: don't wait forever
            server.kill()
            server.wait(timeout=10)
        if os.environ.get("RESONANCE_SHOW_SERVER_LOG"):
            print(log.read_text())


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


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; return that value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
