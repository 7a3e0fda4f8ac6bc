"""Error answers: JSON for machines (the collector, the CRM API, JSON twins),
pages in the dashboard's style for people.

Owns: the 4xx/5xx pages (404, 500, 503 and every other HTTP error). A database
that does not answer becomes a 503 in ``resonance.core.unavailable``, answered here.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template
from werkzeug.exceptions import HTTPException

from resonance.core.respond import machine_request

TEXTS = {
    400: ("Bad request", "Something in the address or the form is not right."),
    403: ("Not allowed", "You may not open this page."),
    404: (
        "Page not found",
        "There is no page at this address. It may have moved, or the site or"
        " content item may have been removed.",
    ),
    405: ("Not allowed here", "This address does not accept that kind of request."),
    500: (
        "Something went wrong",
        "Resonance hit an error it did not expect. It has been logged; try"
        " again, and tell your administrator if it keeps happening.",
    ),
    503: (
        "Temporarily unavailable",
        "The database does not answer right now. Try again in a few seconds.",
    ),
}


def answer(error: HTTPException) -> Response | tuple[str, int]:
    """The error as JSON (machines) or as a page (people), with its headers."""
    code = error.code or 500
    if machine_request():
        response = jsonify(error=error.description)
        response.status_code = code
        for name, value in error.get_headers():
            if name != "Content-Type":  # Allow, WWW-Authenticate, Retry-After…
                response.headers[name] = value
        return response
    title, message = TEXTS.get(code, (error.name, ""))
    if code < 500 and code != 404 and error.description:
        message = error.description  # a 400's reason helps the person fix it
    page = render_template(
        "dashboard/error.html", code=code, title=title, message=message
    )
    response = current_app.make_response((page, code))
    for name, value in error.get_headers():
        if name != "Content-Type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(HTTPException, answer)
