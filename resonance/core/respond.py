"""Who is asking: a person (an HTML page) or a script (JSON).

Owns the one choice every layer makes the same way: errors, rate limits, the
login redirect and the dashboard's JSON twins all ask here, so a page and its
``?format=json`` twin can never disagree about which one was wanted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from flask import Response, current_app, jsonify, render_template, request


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


def page_or_json(
    template: str,
    twin: Mapping[str, Any],
    page: Callable[[], Mapping[str, Any]],
    *,
    status: int = 200,
) -> Response:
    """A dashboard page, or its JSON twin when a script asks (:func:`reads_json`).

    The only place a view chooses between the two, so every page has its twin
    and both come from the data the view gathered once: ``twin`` is the JSON
    object (dataclasses in it are written by Flask's JSON provider), ``page``
    builds the template's context from the same objects. ``page`` is called
    only for people, so figures and lookups a page alone needs cost a script
    nothing. Errors are not answered here: a view raises them with ``abort``
    before choosing, and :mod:`resonance.core.errors` answers them in the same
    form, by the same test."""
    if reads_json():
        response = jsonify(twin)
        response.status_code = status
        return response
    html = render_template(template, **page())
    return current_app.make_response((html, status))


def fields_of(record: Any) -> dict[str, Any]:
    """A dataclass's fields one level deep, to spread into a twin beside other
    keys: nested dataclasses are written when the JSON is, so the page (which
    never serialises them) does not pay for a deep copy."""
    return {field.name: getattr(record, field.name) for field in fields(record)}
