"""The collector's HTTP endpoints: ``GET /r.js``, ``/r2.js``, ``GET /e``, ``POST /e``.

Owns: bytes in, status out. Reads the request facts ingest needs (never storing the
IP), maps :class:`BeaconError` to a JSON 4xx, commits before answering 204, and
sets CORS headers for allowed origins. Paths are short and neutral because content
blockers match words like "track" and "analytics".
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from resonance import limits
from resonance.db import get_session
from tracker import sites
from tracker.beacon import BeaconError
from tracker.ingest import RequestMeta
from tracker.urls import BadUrl
from tracker.urls import origin as origin_of
from tracker.writer import writer_of

bp = Blueprint("tracker", __name__)

BUILD = Path(__file__).resolve().parent.parent / "static" / "js"


@cache
def _built(name: str) -> tuple[bytes, str]:
    """A minified snippet file and its ETag, read once per process: every page
    view of every site asks for it."""
    body = (BUILD / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def _script(name: str) -> Response:
    """A snippet file, cached an hour so that a fix reaches sites the same day.

    Any origin may load it; the extension is an ES module, imported in CORS mode,
    so Access-Control-Allow-Origin is required there, not only polite."""
    body, etag = _built(name)
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@bp.get("/r.js")
def snippet() -> Response:
    """The core snippet (static/js/resonance.js)."""
    return _script("r.min.js")


@bp.get("/r2.js")
def snippet_extension() -> Response:
    """The extension the core loads once the page has settled
    (static/js/resonance-extras.js): dead and error clicks, the retry queue,
    shared-browser visitor ids."""
    return _script("r2.min.js")


@bp.get("/e")
@limits.collector
def site_config() -> Response:
    """The site's privacy mode, which decides whether the snippet may use storage."""
    key = request.args.get("s", "")
    site = sites.lookup(get_session(), key) if 0 < len(key) <= 64 else None
    if site is None or not site.enabled:
        response = _error(404, "unknown site key")
    else:
        response = jsonify(m=site.privacy_mode)
        response.cache_control.max_age = 300
        response.cache_control.public = True
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.post("/e")
@limits.collector
def collect() -> Response:
    """Store one batch; 204 once it is committed, a JSON 4xx when refused.

    The batch is committed by the process's group-commit writer together with the
    batches that arrived alongside it (``tracker.writer``)."""
    limit = current_app.config["MAX_BEACON_BYTES"]
    if (request.content_length or 0) > limit:
        return _cors(_error(413, f"body over {limit} bytes"))
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return _cors(_error(413, f"body over {limit} bytes"))
    try:
        writer_of(current_app.extensions).submit(body, _meta(), datetime.now(UTC))
    except BeaconError as exc:
        return _cors(_error(exc.status, exc.message))
    except OperationalError:
        current_app.logger.exception("database unavailable")
        response = _error(503, "database unavailable, retry later")
        response.headers["Retry-After"] = "5"
        return _cors(response)
    return _cors(Response(status=204))


def _meta() -> RequestMeta:
    """The request facts ingest needs; same-origin pages send no foreign Origin."""
    origin = request.headers.get("Origin")
    if origin and _own_origin() == origin.lower():
        origin = None  # a page served by Resonance itself (the demo site)
    return RequestMeta(
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", "")[:512],
        origin=origin,
        privacy_signal=request.headers.get("Sec-GPC") == "1"
        or request.headers.get("DNT") == "1",
    )


def _own_origin() -> str | None:
    """This server's origin, or None when the Host header is nonsense."""
    return _origin_of_host(request.scheme, request.host)


@lru_cache(maxsize=64)
def _origin_of_host(scheme: str, host: str) -> str | None:
    """Memoised: every beacon asks, for the same few hosts (werkzeug's
    ``host_url`` alone costs more than the rest of the request's checks)."""
    try:
        return origin_of(f"{scheme}://{host}/")
    except BadUrl:
        return None


def _cors(response: Response) -> Response:
    """Echo an Origin back so fetch() fallbacks may read the answer."""
    if origin := request.headers.get("Origin"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
