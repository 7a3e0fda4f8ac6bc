"""Prometheus metrics: what the collector accepts and refuses, how the writer
groups beacons, how long requests take, and the inbox read at scrape time.

Owns: the metric objects and the small functions the collector and the writer
call to update them; ``GET /metrics`` behind a bearer token; the inbox's depth
and age, read with one query when Prometheus scrapes; and the directory that
``resonance serve`` gives gunicorn and the drain process for multiprocess mode
(:func:`serve_environment`). Names, labels and a Prometheus configuration are in
docs/operations.md.

This module sits below the tracker: it imports nothing of it. The collector
turns its own refusals into the reason labels listed here, and the factory
hands :func:`init_app` the tracker's inbox query.

Multiprocess mode: gunicorn runs several workers, and on PostgreSQL a
``resonance drain --follow`` process beside them. Each process writes its
samples to files in ``PROMETHEUS_MULTIPROC_DIR``, which must be set before
prometheus_client is first imported and be empty when the server starts; a
scrape, answered by any worker, sums the files of every process, those that
ended included (their counts are not lost). Without the variable (the Flask
test client, ``flask run``, a lone gunicorn worker) the process's own registry
is served.

Why ``/metrics`` is answered here, before Flask, like ``POST /e``: the route
guard (``resonance.auth.access``) wants a dashboard login for any Flask route
not in its table, while a scraper holds a bearer token; and timing every request
has to wrap the collector, which answers ``POST /e`` before Flask. So
:func:`init_app` wraps the app's WSGI callable last, outside the collector.

Why the inbox is not a gauge kept up to date: its depth changes with every
append and drain, in several processes; one query when someone asks is exact
and costs nothing between scrapes.

The collector's path is hot: every update here goes to a child bound once (no
label look-up per beacon).
"""

from __future__ import annotations

import atexit
import hmac
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Protocol

from flask import Flask
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from resonance.core.security_headers import EVERY_RESPONSE

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Read once, like prometheus_client itself: the mode of the values is chosen
# when it is imported, and the scrape must read them the same way.
MULTIPROC_DIR = os.environ.get(MULTIPROC_ENV) or None
PATH = "/metrics"
TOKEN_KEY = "METRICS_TOKEN"  # RESONANCE_METRICS_TOKEN
MIN_TOKEN_CHARS = 16

log = logging.getLogger(__name__)

# Why POST /e was answered with something other than 204.
REFUSALS = (
    "rate_limited",  # 429: the site and client sent too many
    "too_large",  # 413: body over MAX_BEACON_BYTES
    "invalid",  # 400: not a valid batch (JSON, fields, timestamps, URL)
    "unknown_page_view",  # 400: refers to a page view never stored
    "unknown_site",  # 404: no site has the key
    "site_disabled",  # 403
    "origin_not_allowed",  # 403: the page's Origin is not one of the site's
    "unavailable",  # 503: the database is away
    "error",  # 500: a bug, logged
)
# Why one event was refused while the rest of its beacon was stored (answered
# 200 with the list; or found by the inbox's drain after its 204).
EVENT_REFUSALS = (
    "invalid",  # fails the schema, stamped in the future, a URL not http(s)
    "unknown_page_view",  # refers to a page view never stored
    "page_view_refused",  # belongs to a page view of its batch that was refused
)
# Why GET /e (the snippet asking for its site's privacy mode) was refused.
SITE_CONFIG_REFUSALS = ("unknown_site", "rate_limited")
KINDS = ("collector", "snippet", "api", "dashboard", "other")
DESTINATIONS = ("events", "inbox")
_EXACT_KINDS = {
    "/e": "collector",
    "/r.js": "snippet",
    "/r2.js": "snippet",
    "/login": "dashboard",
    "/logout": "dashboard",
}
_PREFIX_KINDS = (("/dash/", "dashboard"), ("/api/", "api"))
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # tracker.writer.MAX_GROUP is 64

if MULTIPROC_DIR is not None:
    # Every value below opens its file there as it is made: a missing folder
    # would stop the process at import with an obscure error.
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

_accepted = Counter(
    "resonance_beacons_accepted",
    "Beacons answered 204, or 200 with some events refused: committed to the "
    "event tables or to the inbox.",
)
_events = Counter(
    "resonance_beacon_events_accepted",
    "Events in the accepted beacons, but those refused one by one.",
)
_events_refused = Counter(
    "resonance_beacon_events_refused",
    "Events refused one by one while the rest of their beacon was stored, by reason.",
    ["reason"],
)
_refused = Counter(
    "resonance_beacons_refused",
    "Beacons (POST /e) answered with an error, by reason.",
    ["reason"],
)
_site_config_refused = Counter(
    "resonance_site_config_refused",
    "Site look-ups of the snippet (GET /e) refused, by reason.",
    ["reason"],
)
_groups = Histogram(
    "resonance_writer_group_size",
    "Beacons per group the writer commits in one transaction, by destination.",
    ["destination"],
    buckets=GROUP_BUCKETS,
)
_latency = Histogram(
    "resonance_request_duration_seconds",
    "Time to answer a request, until the WSGI app returns, by kind of endpoint.",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
# Children bound once: a label look-up takes a lock and a dict per call.
REFUSED = {reason: _refused.labels(reason) for reason in REFUSALS}
EVENTS_REFUSED = {reason: _events_refused.labels(reason) for reason in EVENT_REFUSALS}
SITE_CONFIG_REFUSED = {
    reason: _site_config_refused.labels(reason) for reason in SITE_CONFIG_REFUSALS
}
GROUPS = {destination: _groups.labels(destination) for destination in DESTINATIONS}
LATENCY = {kind: _latency.labels(kind) for kind in KINDS}


# --- what the collector and the writer call ---------------------------------------


def accepted(events: int) -> None:
    """A beacon was accepted with ``events`` events stored (204, or 200 when
    some of its events were refused)."""
    _accepted.inc()
    _events.inc(events)


def events_refused(reasons: Iterable[str]) -> None:
    """Events were refused one by one; each reason is one of EVENT_REFUSALS."""
    for reason in reasons:
        EVENTS_REFUSED[reason].inc()


def refused(reason: str) -> None:
    """A beacon was answered with an error; ``reason`` is one of REFUSALS."""
    REFUSED[reason].inc()


def site_config_refused(reason: str) -> None:
    """``GET /e`` was refused; ``reason`` is one of SITE_CONFIG_REFUSALS."""
    SITE_CONFIG_REFUSED[reason].inc()


def kind_of(path: str) -> str:
    """The kind of endpoint a path belongs to, for the latency histogram."""
    kind = _EXACT_KINDS.get(path)
    if kind is not None:
        return kind
    for prefix, kind in _PREFIX_KINDS:
        if path.startswith(prefix):
            return kind
    return "other"


# --- the app: timing and GET /metrics ---------------------------------------------

StartResponse = Callable[..., object]


class InboxCounts(Protocol):
    """What the inbox query returns (``tracker.inbox.Waiting``)."""

    beacons: int
    refused: int
    oldest: datetime | None


InboxQuery = Callable[[Session], InboxCounts]


class Instrumented:
    """WSGI middleware: times every request by kind and answers ``/metrics``."""

    def __init__(
        self, inner: Callable, engine: Engine, inbox: InboxQuery, token: str | None
    ) -> None:
        self.inner = inner
        self.token = token.encode() if token else None
        self.source = Scrape(engine, inbox)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable:
        path = environ.get("PATH_INFO", "")
        if path == PATH and self.token is not None:
            return self.scrape(environ, start_response)
        timer = LATENCY[kind_of(path)]
        start = time.perf_counter()
        try:
            return self.inner(environ, start_response)
        finally:
            timer.observe(time.perf_counter() - start)

    def scrape(self, environ: dict, start_response: StartResponse) -> Iterable:
        """The exposition, to a client with the token (a 401 without it)."""
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            return _answer(start_response, 405, b"", [("Allow", "GET, HEAD")])
        if not authorized(environ.get("HTTP_AUTHORIZATION", ""), self.token):
            challenge = ("WWW-Authenticate", 'Bearer realm="metrics"')
            body = b'{"error": "a valid bearer token is required"}\n'
            headers = [challenge, ("Content-Type", "application/json")]
            return _answer(start_response, 401, body, headers)
        encode, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        headers = [("Content-Type", content_type), ("Cache-Control", "no-store")]
        body = encode(self.source)
        return _answer(start_response, 200, body, headers, send=method == "GET")


def authorized(header: str, token: bytes) -> bool:
    """Whether an ``Authorization`` header carries ``token``, compared in
    constant time."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token)


def _answer(
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
    send: bool = True,
) -> list[bytes]:
    """``send`` False: HEAD, the headers of the body without it."""
    headers = [*headers, ("Content-Length", str(len(body))), *EVERY_RESPONSE]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body if send else b""]


class Scrape:
    """What ``/metrics`` shows: every process's samples, then the inbox."""

    def __init__(self, engine: Engine, inbox: InboxQuery) -> None:
        self.engine = engine
        self.inbox = inbox

    def collect(self) -> Iterator[Metric]:
        if MULTIPROC_DIR is not None:
            yield from MultiProcessCollector(None, MULTIPROC_DIR).collect()
        else:
            yield from REGISTRY.collect()
        yield from inbox_metrics(self.engine, self.inbox)


def inbox_metrics(
    engine: Engine, inbox: InboxQuery, now: datetime | None = None
) -> Iterator[Metric]:
    """The inbox's depth and age with one query, and whether it answered."""
    up = GaugeMetricFamily(
        "resonance_database_up", "1 when the scrape's inbox query was answered."
    )
    try:
        with Session(engine) as session:
            waiting = inbox(session)
    except Exception as exc:  # noqa: BLE001 - the scrape still shows the rest
        log.warning("metrics: the inbox could not be read: %s", _first_line(exc))
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    yield GaugeMetricFamily(
        "resonance_inbox_beacons",
        "Beacons committed to the inbox and not yet stored as events.",
        value=waiting.beacons,
    )
    yield GaugeMetricFamily(
        "resonance_inbox_set_aside_beacons",
        "Beacons the drain could not store, kept for `resonance drain --status`.",
        value=waiting.refused,
    )
    yield GaugeMetricFamily(
        "resonance_inbox_oldest_age_seconds",
        "Age of the oldest beacon waiting in the inbox; 0 when it is empty.",
        value=age_seconds(waiting.oldest, now or datetime.now(UTC)),
    )


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    """Seconds since ``oldest`` (naive values are UTC, as the inbox stores them)."""
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def metrics_token(app: Flask) -> str | None:
    """``RESONANCE_METRICS_TOKEN``, checked: None when unset, else a string long
    enough that guessing it is hopeless."""
    token = app.config.get(TOKEN_KEY)
    if token is None or token == "":
        return None
    if isinstance(token, int) and not isinstance(token, bool):
        token = str(token)  # from_prefixed_env reads an all-digit value as JSON
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"RESONANCE_{TOKEN_KEY} must be a random string of at least "
            f"{MIN_TOKEN_CHARS} characters (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return token


def init_app(app: Flask, inbox: InboxQuery) -> None:
    """Time every request and serve ``/metrics`` (404 without
    ``RESONANCE_METRICS_TOKEN``); ``inbox`` reads the inbox's counts at scrape
    time. Call it last in the factory: it wraps the WSGI callable outside the
    collector. A second call does nothing."""
    if "resonance.metrics" in app.extensions:
        return
    token = metrics_token(app)
    engine = app.extensions["resonance.engine"]
    app.wsgi_app = Instrumented(app.wsgi_app, engine, inbox, token)
    app.extensions["resonance.metrics"] = app.wsgi_app


# --- resonance serve ---------------------------------------------------------------


def serve_environment() -> dict[str, str]:
    """``PROMETHEUS_MULTIPROC_DIR`` for gunicorn and the drain process: a fresh
    directory removed when the serving process exits, or the operator's own,
    emptied of an earlier run's samples (they would be summed again)."""
    chosen = os.environ.get(MULTIPROC_ENV)
    if chosen:
        directory = Path(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return {MULTIPROC_ENV: str(directory)}
    made = tempfile.mkdtemp(prefix="resonance-metrics-")
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    return {MULTIPROC_ENV: made}
