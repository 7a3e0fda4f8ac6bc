"""The collector's Flask endpoints: ``GET /r.js``, ``/r2.js`` and ``GET /e``.

Owns: serving the snippet files and a site's privacy mode. ``POST /e``, the
beacons themselves, is answered before Flask (``tracker.collector``). Paths are
short and neutral because content blockers match words like "track" and
"analytics".
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from resonance.core import limits
from resonance.core.db import get_session
from tracker import sites

bp = Blueprint("tracker", __name__)


@cache
def _built(path: Path) -> tuple[bytes, str]:
    """A minified snippet file and its ETag, read once per process: every page
    view of every site asks for it."""
    body = path.read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def _script(name: str) -> Response:
    """A snippet file, cached an hour so that a fix reaches sites the same day.

    Any origin may load it; the extension is an ES module, imported in CORS mode,
    so Access-Control-Allow-Origin is required there, not only polite."""
    body, etag = _built(Path(current_app.static_folder, "js", name))
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


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
