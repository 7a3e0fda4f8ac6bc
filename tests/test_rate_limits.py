"""Collector rate limits per site and client, in memory and in Redis.

Redis tests use ``redis://127.0.0.1:6379/15`` (``RESONANCE_TEST_REDIS_URL``) with
a key prefix of their own, and delete only their own keys. They skip when no
Redis answers, except in CI on a machine where ``redis-server`` is installed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from conftest import ORIGIN, count, free_port, post_batch
from factories import batch, pv
from flask import Flask

from resonance.app import create_app
from resonance.core.models import PageView
from tracker.sites import create_site

REDIS_URL = os.environ.get("RESONANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
OTHER_ORIGIN = "https://other.example"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI") and shutil.which("redis-server"):
            pytest.fail(f"CI needs Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, database_url) -> Iterator[Flask]:
    """The app with a collector limit of 3 per minute, counted in memory or in
    Redis (under a prefix of this test's own, removed afterwards)."""
    prefix = f"rs-test-{uuid.uuid4().hex[:12]}"
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "COLLECTOR_RATE_LIMIT": "3/minute",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    redis_client = None
    if request.param == "redis":
        redis_client = _redis_or_skip()
        config["REDIS_URL"] = REDIS_URL
    app = create_app(config)
    yield app
    app.extensions["resonance.engine"].dispose()
    if redis_client is not None:
        keys = list(redis_client.scan_iter(match=f"*{prefix}*"))
        assert keys, "the limits were not counted in Redis"
        redis_client.delete(*keys)
        redis_client.close()


@pytest.fixture
def two_sites(limited_app) -> None:
    with limited_app.extensions["resonance.sessionmaker"]() as session:
        for key, origin in (("blog", ORIGIN), ("other", OTHER_ORIGIN)):
            create_site(session, key, origins=[origin], privacy_mode="always", key=key)
        session.commit()


def test_a_beacon_past_the_limit_is_a_429_json_with_retry_after(limited_app, two_sites):
    client = limited_app.test_client()
    answers = [post_batch(client, batch(pv())) for _ in range(4)]

    assert [a.status_code for a in answers] == [204, 204, 204, 429]
    refused = answers[-1]
    assert refused.mimetype == "application/json"
    assert "too many requests" in refused.json["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert refused.json["retry_after"] == int(refused.headers["Retry-After"])
    with limited_app.extensions["resonance.sessionmaker"]() as session:
        assert count(session, PageView) == 3  # the refused batch stored nothing


def test_the_limit_is_per_site_and_per_client(limited_app, two_sites):
    client = limited_app.test_client()
    for _ in range(3):
        post_batch(client, batch(pv()))
    assert post_batch(client, batch(pv())).status_code == 429

    other_site = post_batch(
        client, batch(pv(url=f"{OTHER_ORIGIN}/p"), s="other"), origin=OTHER_ORIGIN
    )
    other_client = limited_app.test_client()
    other_client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    same_site_other_client = post_batch(other_client, batch(pv(), v="visitor0002"))

    assert other_site.status_code == 204
    assert same_site_other_client.status_code == 204


def test_the_site_config_lookup_is_limited_too(limited_app, two_sites):
    client = limited_app.test_client()
    answers = [client.get("/e?s=blog").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert client.get("/e?s=other").status_code == 200


def test_an_unreachable_redis_never_fails_a_beacon(database_url, site):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "COLLECTOR_RATE_LIMIT": "2/minute",
        }
    )
    try:
        client = app.test_client()
        answers = [post_batch(client, batch(pv())).status_code for _ in range(3)]
    finally:
        app.extensions["resonance.engine"].dispose()

    # Counted in memory instead: still limited, never a 500.
    assert answers == [204, 204, 429]


def test_an_empty_limit_turns_the_collector_limit_off(database_url, site):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "COLLECTOR_RATE_LIMIT": "",
        }
    )
    try:
        client = app.test_client()
        answers = {client.get("/e?s=blog").status_code for _ in range(50)}
    finally:
        app.extensions["resonance.engine"].dispose()

    assert answers == {200}


def test_ratelimit_enabled_false_starts_the_app_with_every_limit_off(
    database_url, site
):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": False,
            "COLLECTOR_RATE_LIMIT": "2/minute",
        }
    )
    try:
        client = app.test_client()
        answers = {client.get("/e?s=blog").status_code for _ in range(20)}
    finally:
        app.extensions["resonance.engine"].dispose()

    assert answers == {200}


def test_a_malformed_limit_fails_at_start():
    with pytest.raises(ValueError):
        create_app(
            {
                "DATABASE_URL": "sqlite://",
                "SECRET_KEY": "x",
                "COLLECTOR_RATE_LIMIT": "lots",
            }
        )


def test_the_default_collector_limit_leaves_room_for_a_busy_office(database_url, site):
    """1200 a minute per site and address: 20 beacons/s from one NAT address.
    (The shared ``app`` fixture lifts the limit; this app keeps the default.)"""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t"})
    client = app.test_client()
    answers = {client.get("/e?s=blog").status_code for _ in range(30)}

    assert app.config["COLLECTOR_RATE_LIMIT"] == "30/second;1200/minute"
    assert answers == {200}
    app.extensions["resonance.engine"].dispose()


def test_memory_counters_start_no_thread_per_hit_and_still_expire(monkeypatch):
    import threading
    import time

    from resonance.core.limits import SweptMemoryStorage

    storage = SweptMemoryStorage("resonance-memory://")
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(
        threading.Thread, "start", lambda self: started.append(self) or real_start(self)
    )
    for _ in range(500):
        storage.incr("hot", expiry=0.05)
    storage.incr("cold", expiry=0.05)
    assert started == []
    assert storage.get("hot") == 500

    time.sleep(0.06)
    storage._next_sweep = 0  # the sweep is due
    storage.incr("other", expiry=60)
    assert "cold" not in storage.storage  # expired keys are dropped, not kept
    assert storage.get("hot") == 0


def test_requests_are_not_checked_again_before_routing(database_url):
    """Only the marked views carry limits: the library's before-request check
    would evaluate every beacon a second time for nothing."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    limiter = app.extensions["resonance.limiter"]
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    app.extensions["resonance.engine"].dispose()


def test_behind_a_proxy_the_beacon_limit_counts_each_forwarded_client(
    database_url, site
):
    """POST /e is answered before Flask, inside ProxyFix: the address it counts
    is the client's, not the proxy's."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "PROXY_COUNT": 1,
            "COLLECTOR_RATE_LIMIT": "1/minute",
        }
    )
    try:
        answers = []
        for address in ("203.0.113.1", "203.0.113.2", "203.0.113.1"):
            client = app.test_client()
            client.environ_base["HTTP_X_FORWARDED_FOR"] = address
            answers.append(post_batch(client, batch(pv())).status_code)
    finally:
        app.extensions["resonance.engine"].dispose()

    assert answers == [204, 204, 429]
