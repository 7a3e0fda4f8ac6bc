"""Who is asking: a person (an HTML page) or a script (JSON).

Owns the one choice every layer makes the same way: errors, rate limits, the
login redirect and the dashboard's JSON twins all ask here, so a page and its
``?format=json`` twin can never disagree about which one was wanted.
"""

from __future__ import annotations

from flask import request


def wants_json() -> bool:
    """The JSON twin of a page was asked for (``?format=json``)."""
    return request.args.get("format") == "json"


def reads_json() -> bool:
    """A script, not a person: the JSON twin, a JSON body, or JSON preferred."""
    if wants_json() or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def machine_request() -> bool:
    """The collector, the CRM API, the health check or a script: errors there
    are answered in JSON, never as a page."""
    path = request.path
    return path in ("/e", "/healthz") or path.startswith("/api/") or reads_json()
