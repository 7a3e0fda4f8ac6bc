"""``POST /e``, the collector's hot path: a plain WSGI handler in front of Flask.

Owns: bytes in, status out for beacons. Reads the request facts ingest needs
(never storing the IP), counts the rate limit, hands the body to the process's
group-commit writer (``tracker.writer``) and answers 204 once it is committed,
200 with the list of the events refused one by one when the others were
committed, or a JSON 4xx/503 saying why the whole batch was refused, with the
CORS headers fetch() fallbacks need.

Why not a Flask view: every beacon would pay for a request context, URL
matching, the session interface, the before and after hooks and a response
object. Measured with ``bench/ingest.py``, that machinery alone costs more CPU
than validating a beacon and appending it to the inbox, and the collector's
throughput is its CPU per request (one gunicorn worker's GIL). So ``POST /e``
is answered here and everything else, ``GET /e`` included, goes on to Flask.
What a Flask view would have added is done here explicitly: the headers every
response carries, the rate limit (same rule, same counters' storage), 503 with
Retry-After while the database is away, JSON errors. ProxyFix wraps this
handler, so the client address is already the forwarded one.

Every answer is counted for ``/metrics`` (``resonance.core.metrics``): accepted, or
refused by a reason label this module derives from its own errors, and each event
refused in an accepted batch by its reason; so is the snippet's ``GET /e`` when
it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus

from flask import Flask, Response
from flask import request as flask_request
from werkzeug.wrappers import Request

from resonance.core import limits, metrics
from resonance.core.security_headers import EVERY_RESPONSE
from resonance.core.unavailable import MESSAGE, RETRY_AFTER_S, UNAVAILABLE, first_line
from tracker.beacon import BeaconError
from tracker.ingest import PartlyStored, RequestMeta, UnknownPageView
from tracker.urls import BadUrl
from tracker.urls import origin as origin_of
from tracker.writer import INBOX_FROM, writer_of

StartResponse = Callable[..., object]
Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body
# GET /e (tracker.views.site_config) answers 404 for an unknown or disabled key.
_SITE_CONFIG_REFUSALS = {404: "unknown_site", 429: "rate_limited"}


class Collector:
    """WSGI middleware: ``POST /e`` here, every other request to ``inner``."""

    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app = app
        self.inner = inner
        self.max_bytes: int = app.config["MAX_BEACON_BYTES"]
        self.limit = limits.collector_limit(app)
        self.inbox_from: int = app.config["INBOX_FROM_GROUP"]
        self.drains: bool = app.config["DRAIN_IN_WORKERS"]

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable:
        if environ.get("PATH_INFO") != "/e" or environ["REQUEST_METHOD"] != "POST":
            return self.inner(environ, start_response)
        status, headers, body = self.respond(Request(environ))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    def view(self) -> Response:
        """The same, as the Flask view of ``POST /e``: it keeps the URL map
        truthful (Allow, OPTIONS) and serves whoever calls the Flask app past
        this middleware."""
        status, headers, body = self.respond(flask_request)
        return Response(body, status, headers)

    def respond(self, request: Request) -> Answer:
        """The answer to a beacon, with the headers every answer carries."""
        status, headers, body = self.collect(request)
        if origin := request.headers.get("Origin"):
            # Echoed so that fetch() fallbacks may read the answer.
            headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return status, headers + list(EVERY_RESPONSE), body

    def collect(self, request: Request) -> Answer:
        """Store one batch: 204 once committed, 200 naming the events refused
        one by one (the others committed), else the error to answer."""
        if self.limit is not None:
            site = request.headers.get("Origin") or "-"
            refused = self.limit.refuse(site, request.remote_addr or "-")
            if refused is not None:
                retry, rule = refused
                message = limits.too_many_message(rule, retry)
                metrics.refused("rate_limited")
                return _json(429, {"error": message, "retry_after": retry}, retry)
        if (request.content_length or 0) > self.max_bytes:
            return _too_large(self.max_bytes)
        body = request.stream.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            return _too_large(self.max_bytes)
        try:
            result = self.writer().submit(body, _meta(request), datetime.now(UTC))
        except BeaconError as exc:
            metrics.refused(refusal_reason(exc))
            return _error(exc.status, exc.message)
        except UNAVAILABLE as exc:
            self.app.logger.warning("database unavailable: %s", first_line(exc))
            metrics.refused("unavailable")
            return _json(503, {"error": MESSAGE}, RETRY_AFTER_S)
        except Exception:
            self.app.logger.exception("storing a beacon failed")
            metrics.refused("error")
            return _error(500, "internal error; it has been logged")
        if isinstance(result, PartlyStored):
            metrics.accepted(result.events)
            metrics.events_refused(r.reason for r in result.refused)
            return _json(200, {"refused": [r.answer() for r in result.refused]})
        metrics.accepted(result)
        return 204, [], b""

    def writer(self):
        """The app's writer, made on the first beacon (after the engine)."""
        return writer_of(self.app.extensions, self.inbox_from, self.drains)


def init_app(app: Flask) -> None:
    """Serve ``POST /e`` before Flask (after the limiter is made: it counts)."""
    app.config.setdefault("INBOX_FROM_GROUP", INBOX_FROM)
    app.config.setdefault("DRAIN_IN_WORKERS", True)
    collector = Collector(app, app.wsgi_app)
    app.wsgi_app = collector
    app.add_url_rule("/e", "tracker.collect", collector.view, methods=["POST"])
    app.after_request(_count_site_config_refusals)


def refusal_reason(error: BeaconError) -> str:
    """The ``reason`` label of a refused batch (``resonance.core.metrics.REFUSALS``)."""
    if isinstance(error, UnknownPageView):
        return "unknown_page_view"
    if error.status == 404:
        return "unknown_site"
    if error.status == 403 and error.message.startswith("origin "):
        return "origin_not_allowed"  # tracker.ingest: "origin … is not allowed …"
    if error.status == 403:
        return "site_disabled"
    return "invalid"


def _count_site_config_refusals(response: Response) -> Response:
    """``GET /e`` refused: an unknown key (a wrong tag) or the rate limit."""
    if flask_request.endpoint == "tracker.site_config":
        reason = _SITE_CONFIG_REFUSALS.get(response.status_code)
        if reason is not None:
            metrics.site_config_refused(reason)
    return response


def _meta(request: Request) -> RequestMeta:
    """The request facts ingest needs; same-origin pages send no foreign Origin."""
    origin = request.headers.get("Origin")
    if origin and _origin_of_host(request.scheme, request.host) == origin.lower():
        origin = None  # a page served by Resonance itself (the demo site)
    return RequestMeta(
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", "")[:512],
        origin=origin,
        privacy_signal=request.headers.get("Sec-GPC") == "1"
        or request.headers.get("DNT") == "1",
    )


@lru_cache(maxsize=64)
def _origin_of_host(scheme: str, host: str) -> str | None:
    """This server's origin, or None when the Host header is nonsense. Memoised:
    every beacon asks, for the same few hosts."""
    try:
        return origin_of(f"{scheme}://{host}/")
    except BadUrl:
        return None


def _too_large(max_bytes: int) -> Answer:
    metrics.refused("too_large")
    return _error(413, f"body over {max_bytes} bytes")


def _error(status: int, message: str) -> Answer:
    return _json(status, {"error": message})


def _json(status: int, payload: dict, retry_after: int | None = None) -> Answer:
    body = json.dumps(payload).encode() + b"\n"
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    if status == 503:
        headers.append(("Cache-Control", "no-store"))
    return status, headers, body
