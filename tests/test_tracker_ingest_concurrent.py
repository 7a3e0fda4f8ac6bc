"""Two processes storing groups at once on PostgreSQL (two gunicorn workers,
``bench/generate.py --workers 2``): overlapping new content items and visitors
never deadlock, and every event is stored exactly once.

The real database, fresh for each test (``postgres_schema_url``): locks are the
database's, so nothing here can be mocked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resonance.core.engine import make_engine
from resonance.core.models import AlertRule, Content, Identify, PageView, Visitor
from tests.conftest import BROWSER_UA, ORIGIN, _empty_postgres, count
from tests.factories import NOW_MS, batch, click, identify, pv
from tracker import sites
from tracker.identity import forget_salts
from tracker.ingest import RequestMeta, ingest_many
from tracker.sites import create_site

META = RequestMeta(ip="203.0.113.9", user_agent=BROWSER_UA, origin=ORIGIN)
NOW = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(seconds=10)
WAIT_S = 20  # for a backend to be seen waiting; a deadlock is found in 1 s


@pytest.fixture
def engine(postgres_schema_url: str):
    """A fresh PostgreSQL schema with the site "blog" ("always": first-party
    visitor ids, so that a visitor is the same key in both groups)."""
    _empty_postgres(postgres_schema_url)
    sites.forget()
    forget_salts()
    engine = make_engine(postgres_schema_url)
    with Session(engine) as session:
        create_site(
            session, "Blog", origins=[ORIGIN], privacy_mode="always", key="blog"
        )
        session.commit()
    yield engine
    engine.dispose()


def body(*events: dict, v: str) -> bytes:
    return json.dumps(batch(*events, v=v)).encode()


def store(engine, items: list, results: dict, name: str) -> None:
    """One group in one transaction, as the writer and the drain store it; the
    outcome (or the exception) lands in ``results[name]``."""
    try:
        with Session(engine) as session:
            stored = ingest_many(session, items)
            session.commit()
        results[name] = stored
    except Exception as exc:  # noqa: BLE001 - the test asserts on it
        results[name] = exc


def backends_waiting(engine, at_least: int, results: dict) -> None:
    """Until ``at_least`` backends of this database wait for a lock (while no
    group has ended: one that did is reported)."""
    deadline = time.monotonic() + WAIT_S
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.scalar(query) >= at_least:
                return
        assert not results, results
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} backends ever waited for a lock")


def started(target: Callable, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def test_a_group_that_fires_alerts_and_one_sharing_its_new_page_never_deadlock(
    engine,
):
    """What deadlocked ``generate.py --workers 2`` on a fresh database: group B
    creates a content item and, identifying its visitor, fires alerts (the
    site's rules are made under a lock on the site's row); group A, meanwhile,
    stores a new visitor of the same site (its foreign key holds a share lock on
    the site's row) and waits for B's new content item. B's lock on the site
    then waited for A: a cycle. The rules' lock no longer conflicts with a
    foreign key's, so B commits and A goes on.

    The order is forced, not hoped for: a third transaction holds a lock on
    ``identifies`` so that B stops after writing its content item, until A
    waits for it."""
    page = "https://blog.example.com/launch"
    b_view, a_view = pv("pvfiresb001", url=page), pv("pvsharesa01", url=page)
    group_b = [
        (
            body(
                b_view, identify(b_view["id"], "ann@redwing.example"), v="visitorb001"
            ),
            META,
            NOW,
        )
    ]
    group_a = [(body(a_view, click(a_view["id"]), v="visitora001"), META, NOW)]
    results: dict = {}
    with engine.connect() as gate:
        gate.execute(text("LOCK TABLE identifies IN SHARE MODE"))
        b = started(store, engine, group_b, results, "b")
        backends_waiting(
            engine, 1, results
        )  # B wrote its content item, waits at the gate
        a = started(store, engine, group_a, results, "a")
        backends_waiting(engine, 2, results)  # A waits for B's content item
        gate.rollback()  # B goes on: its identify, then the alerts
    for thread in (a, b):
        thread.join(WAIT_S)
        assert not thread.is_alive()
    assert results == {"a": [2], "b": [2]}
    with Session(engine) as session:
        assert count(session, Content) == 1
        assert count(session, PageView) == 2
        assert count(session, Visitor) == 2
        assert count(session, Identify) == 1
        assert count(session, AlertRule) == 3  # made by B, under the site's lock


def test_two_groups_of_the_same_new_pages_and_visitors_in_opposite_orders(engine):
    """Two transactions that create the same content items and visitors, each
    in the reverse order of the other, round after round: every page view is
    stored once, each item and visitor made once, no deadlock."""
    rounds, pages = 12, 6
    for n in range(rounds):
        keys = [
            (f"https://blog.example.com/r{n}/p{k}", f"visitor{n:02d}{k:04d}")
            for k in range(pages)
        ]
        groups = {}
        for name, order in (("a", keys), ("b", keys[::-1])):
            groups[name] = [
                (body(view, click(view["id"]), v=uid), META, NOW)
                for k, (url, uid) in enumerate(order)
                for view in [pv(f"pv{name}{n:02d}{k:04d}", url=url)]
            ]
        results: dict = {}
        threads = [started(store, engine, groups[x], results, x) for x in "ab"]
        for thread in threads:
            thread.join(WAIT_S)
            assert not thread.is_alive()
        assert results == {"a": [2] * pages, "b": [2] * pages}, f"round {n}"
    with Session(engine) as session:
        assert count(session, Content) == rounds * pages
        assert count(session, PageView) == 2 * rounds * pages
        assert count(session, Visitor) == rounds * pages
