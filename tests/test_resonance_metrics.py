"""``GET /metrics`` (resonance/core/metrics.py): what the collector accepted and
refused and why, the writer's groups, request latency by kind of endpoint and
the inbox's depth and age, behind a bearer token; and, under ``resonance
serve``, the sum of every worker's counts whichever worker answers the scrape.

The counters live as long as the test process, so the Flask-client tests
compare a scrape taken after the requests with one taken before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from resonance.app import create_app
from resonance.core.models import Site
from tests.conftest import BROWSER_UA, NO_COLLECTOR_LIMIT, ORIGIN, post_batch
from tests.factories import batch, click, pv
from tests.servers import free_port, wait_until
from tracker import inbox, sites

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metrics_config(database_url: str, **config) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "COLLECTOR_RATE_LIMIT": NO_COLLECTOR_LIMIT,
        "METRICS_TOKEN": TOKEN,
        **config,
    }


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The shared fixtures' app (``site``, ``session``), with a metrics token."""
    app = create_app(metrics_config(database_url))
    yield app
    app.extensions["resonance.engine"].dispose()


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.data
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def change(client: FlaskClient, act: Callable[[], object]) -> Callable[..., float]:
    """Run ``act``; then ``moved(name, **labels)`` says how much a sample grew."""
    before = scrape(client)
    act()
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    return moved


# --- beacons accepted and refused ---------------------------------------------------


def test_an_accepted_beacon_counts_itself_its_events_and_its_group(
    anon_client: FlaskClient, site: Site
):
    view = pv()

    def send() -> None:
        assert post_batch(anon_client, batch(view, click(view["p"]))).status_code == 204

    moved = change(anon_client, send)

    assert moved("resonance_beacons_accepted_total") == 1
    assert moved("resonance_beacon_events_accepted_total") == 2
    assert moved("resonance_writer_group_size_count", destination="events") == 1
    assert moved("resonance_writer_group_size_sum", destination="events") == 1
    refused = [moved("resonance_beacons_refused_total", reason=r) for r in REASONS]
    assert refused == [0] * len(REASONS)


REASONS = (
    "too_large",
    "invalid",
    "unknown_site",
    "origin_not_allowed",
    "site_disabled",
    "unknown_page_view",
)


def _disable(session: Session, site: Site) -> None:
    session.get(Site, site.id).enabled = False
    session.commit()
    sites.forget()


REFUSED_BEACONS = {
    "too_large": (b'{"s": "blog", "e": []}' + b" " * 70_000, ORIGIN, 413),
    "invalid": (b'{"s": "blog", "e": [', ORIGIN, 400),
    "unknown_site": (batch(pv(), s="nosuchsite"), ORIGIN, 404),
    "origin_not_allowed": (batch(pv()), "https://elsewhere.example", 403),
    "site_disabled": (batch(pv()), ORIGIN, 403),
    "unknown_page_view": (batch(click("pvneverstored")), ORIGIN, 400),
}


@pytest.mark.parametrize("reason", REASONS)
def test_a_refused_beacon_is_counted_under_its_reason_alone(
    reason: str, anon_client: FlaskClient, site: Site, session: Session
):
    body, origin, status = REFUSED_BEACONS[reason]
    if reason == "site_disabled":
        _disable(session, site)

    def send() -> None:
        assert post_batch(anon_client, body, origin=origin).status_code == status

    moved = change(anon_client, send)

    for each in REASONS:
        expected = 1 if each == reason else 0
        assert moved("resonance_beacons_refused_total", reason=each) == expected, each
    assert moved("resonance_beacons_accepted_total") == 0


def test_beacons_over_the_rate_limit_are_counted_as_rate_limited(
    database_url: str, site: Site
):
    limited = create_app(metrics_config(database_url, COLLECTOR_RATE_LIMIT="2/minute"))
    client = limited.test_client()
    try:
        moved = change(
            client, lambda: [post_batch(client, batch(pv())) for _ in range(3)]
        )
    finally:
        limited.extensions["resonance.engine"].dispose()

    assert moved("resonance_beacons_accepted_total") == 2
    assert moved("resonance_beacons_refused_total", reason="rate_limited") == 1


def test_an_unknown_key_asked_for_by_the_snippet_is_counted(anon_client: FlaskClient):
    def ask() -> None:
        assert anon_client.get("/e?s=nosuchsite").status_code == 404

    moved = change(anon_client, ask)

    assert moved("resonance_site_config_refused_total", reason="unknown_site") == 1


# --- the token -------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token-at-all-000000", f"Basic {TOKEN}", TOKEN],
)
def test_metrics_without_the_bearer_token_is_refused(
    anon_client: FlaskClient, authorization: str | None
):
    headers = {"Authorization": authorization} if authorization else {}

    response = anon_client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "resonance_" not in response.get_data(as_text=True)


def test_metrics_is_not_found_when_no_token_is_set(database_url: str):
    untokened = create_app(metrics_config(database_url, METRICS_TOKEN=None))
    try:
        response = untokened.test_client().get("/metrics", headers=BEARER)
    finally:
        untokened.extensions["resonance.engine"].dispose()

    assert response.status_code == 404


def test_the_token_comes_from_the_environment_and_must_be_long(
    database_url: str, monkeypatch: pytest.MonkeyPatch
):
    config = metrics_config(database_url)
    del config["METRICS_TOKEN"]
    monkeypatch.setenv("RESONANCE_METRICS_TOKEN", TOKEN)
    from_env = create_app(config)
    try:
        assert scrape(from_env.test_client())
    finally:
        from_env.extensions["resonance.engine"].dispose()

    monkeypatch.setenv("RESONANCE_METRICS_TOKEN", "short")
    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(config)


def test_metrics_answers_get_and_head_only(anon_client: FlaskClient):
    head = anon_client.head("/metrics", headers=BEARER)
    post = anon_client.post("/metrics", headers=BEARER)

    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) > 0
    assert post.status_code == 405


# --- the inbox and latency -----------------------------------------------------------


def test_the_inbox_gauges_show_beacons_waiting_and_the_oldest_age(
    database_url: str, site: Site
):
    """Workers that leave the inbox to a drain process: every beacon waits."""
    appending = create_app(
        metrics_config(database_url, INBOX_FROM_GROUP=1, DRAIN_IN_WORKERS=False)
    )
    client = appending.test_client()
    try:
        moved = change(
            client, lambda: [post_batch(client, batch(pv())) for _ in range(3)]
        )
        time.sleep(0.05)
        waiting = scrape(client)
        inbox.drain_all(appending.extensions["resonance.sessionmaker"])
        drained = scrape(client)
    finally:
        appending.extensions["resonance.engine"].dispose()

    assert moved("resonance_writer_group_size_count", destination="inbox") == 3
    assert value(waiting, "resonance_database_up") == 1
    assert value(waiting, "resonance_inbox_beacons") == 3
    assert 0.05 <= value(waiting, "resonance_inbox_oldest_age_seconds") < 60
    assert value(drained, "resonance_inbox_beacons") == 0
    assert value(drained, "resonance_inbox_oldest_age_seconds") == 0


def test_a_scrape_still_answers_when_the_database_is_away():
    away = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    unreachable = create_app(metrics_config(away))
    try:
        samples = scrape(unreachable.test_client())
    finally:
        unreachable.extensions["resonance.engine"].dispose()

    assert value(samples, "resonance_database_up") == 0
    assert ("resonance_inbox_beacons", ()) not in samples
    assert ("resonance_beacons_accepted_total", ()) in samples


def test_request_latency_is_observed_by_kind_of_endpoint(
    anon_client: FlaskClient, client: FlaskClient, site: Site
):
    def browse() -> None:
        post_batch(anon_client, batch(pv()))
        anon_client.get("/r.js")
        client.get("/dash/")
        anon_client.get("/healthz")

    moved = change(anon_client, browse)

    for kind in ("collector", "snippet", "dashboard", "other"):
        assert moved("resonance_request_duration_seconds_count", kind=kind) >= 1, kind
        assert moved("resonance_request_duration_seconds_sum", kind=kind) > 0, kind
    assert moved("resonance_request_duration_seconds_count", kind="api") == 0


# --- resonance serve: every worker's counts -------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _post(base: str) -> int:
    request = urllib.request.Request(
        f"{base}/e",
        data=json.dumps(batch(pv())).encode(),
        headers={"Origin": ORIGIN, "User-Agent": BROWSER_UA},
    )
    with urllib.request.urlopen(request, timeout=20) as answer:
        return answer.status


def _scrape(base: str) -> Samples:
    request = urllib.request.Request(f"{base}/metrics", headers=BEARER)
    with urllib.request.urlopen(request, timeout=20) as answer:
        return parse(answer.read().decode())


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=1)
    except OSError:
        return False
    return True


def test_serve_sums_the_beacons_of_every_worker_in_one_scrape(
    database_url: str, site: Site, tmp_path: Path
):
    """Two workers: each is paused in turn (SIGSTOP) while the other takes
    beacons, then each answers a scrape alone; both count them all. The
    samples' folder, made by ``resonance serve``, is gone once it stops."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "serve-test",
        "RESONANCE_COLLECTOR_RATE_LIMIT": "",
        "RESONANCE_METRICS_TOKEN": TOKEN,
        "TMPDIR": str(tmp_path),
    }
    argv = [sys.executable, "-c", "from resonance.cli import cli; cli()", "serve"]
    argv += ["--no-demo", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    argv += ["--threads", "4"]
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    stopped: list[int] = []
    try:
        wait_until(lambda: _answers(base), seconds=60)
        [master] = [p for p in _children(server.pid) if b"gunicorn" in _cmdline(p)]
        wait_until(lambda: len(_children(master)) == 2, seconds=30)
        first, second = _children(master)

        def only(worker: int, beacons: int) -> Samples:
            """Pause the other worker; ``worker`` takes the beacons and the scrape."""
            other = second if worker == first else first
            os.kill(other, signal.SIGSTOP)
            stopped.append(other)
            try:
                assert [_post(base) for _ in range(beacons)] == [204] * beacons
                return _scrape(base)
            finally:
                os.kill(other, signal.SIGCONT)
                stopped.remove(other)

        only(first, 3)
        by_second = only(second, 2)
        by_first = only(first, 0)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=60)
    output = (tmp_path / "serve.log").read_text()
    assert returncode == 0, output[-3000:]

    for samples in (by_first, by_second):
        assert value(samples, "resonance_beacons_accepted_total") == 5
        collector = value(
            samples, "resonance_request_duration_seconds_count", kind="collector"
        )
        assert collector == 5
    assert not list(tmp_path.glob("resonance-metrics-*")), "samples' folder left"
