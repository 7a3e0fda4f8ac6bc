"""Refuse NUL characters in the path, the query string and dashboard forms.

PostgreSQL cannot hold or even compare a NUL in text (psycopg raises before the
query runs), SQLite truncates at it in places, and no real page, CRM or
colleague sends one. Refusing it once, for every route, turns what would be a
500 on PostgreSQL into a clear 400 (JSON for the collector and the API, by the
app's error handler). Request bodies of ``/e`` and ``/api`` are checked by their
own parsers.
"""

from __future__ import annotations

from flask import Flask, abort, request

NUL = "\x00"


def _holds_nul(pairs) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)


def refuse_nul() -> None:
    """400 when the path, a query argument or a dashboard form field holds NUL."""
    if NUL in request.path or _holds_nul(request.args.items(multi=True)):
        abort(400, "NUL characters are not allowed")
    if request.path.startswith("/dash") and _holds_nul(request.form.items(multi=True)):
        abort(400, "NUL characters are not allowed")


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)
