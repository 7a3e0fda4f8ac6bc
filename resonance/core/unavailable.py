"""Answers for when the database is away: 503 with Retry-After, never a 500.

Owns: recognising "the database cannot be reached right now" (refused or broken
connections, timeouts, a full pool) wherever it surfaces, and the answer: JSON for
the collector, the CRM API and the JSON twins of pages; a short page for people.
Browsers' beacons are kept in the snippet's queue and re-sent after Retry-After;
the engine's pre-ping replaces broken connections, so service resumes by itself
when the database is back (see ``resonance.core.engine.make_engine``).
"""

from __future__ import annotations

import sqlite3

import psycopg
from flask import (
    Flask,
    Response,
    current_app,
    g,
    request,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ServiceUnavailable

from resonance.core import errors
from resonance.core.respond import machine_request

RETRY_AFTER_S = 5
MESSAGE = "database unavailable, retry later"
# Connection refused, reset or timed out, statement or lock timeout (Operational),
# a connection closed under the driver (Interface), no free pooled connection.
# The group-commit writer (tracker.writer) talks to the drivers directly, so their
# own exception classes arrive here too, not wrapped by SQLAlchemy.
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def register(app: Flask) -> None:
    """Answer 503 for every database outage that a view did not handle itself."""
    for error in UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)


def database_unavailable(error: Exception) -> Response:
    """503 + Retry-After: JSON for machines, the error page for people."""
    current_app.logger.warning("database unavailable: %s", first_line(error))
    # The page's nav asks who is logged in, which needs the database: show it
    # as to nobody rather than fail again while rendering.
    g.user = None
    response = errors.answer(ServiceUnavailable(MESSAGE, retry_after=RETRY_AFTER_S))
    if machine_request() and (origin := request.headers.get("Origin")):
        # Like the collector's own answers, so fetch() fallbacks can read it.
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.cache_control.no_store = True
    return response


def first_line(error: Exception) -> str:
    """The driver's message without SQLAlchemy's multi-line statement dump."""
    return str(error).strip().splitlines()[0][:200] if str(error) else repr(error)
