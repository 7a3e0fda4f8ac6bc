"""The database inside the app: one engine per app (two with a read replica for
the dashboards), one session per request.

Shaped like the Flask tutorial's ``db.py``: the factory only calls
:func:`init_app`; views and commands call :func:`get_session`. The engines
themselves are made in ``resonance.core.engine``.

With ``DASHBOARD_DATABASE_URL`` set (``RESONANCE_DASHBOARD_DATABASE_URL``, a
streaming replica of ``DATABASE_URL``), :func:`reads_replica` is the one place
that decides which database a request reads: a GET or HEAD served by a
dashboard blueprint reads the replica, everything else (the collector, the CRM
API, login, every POST, CLI commands) the primary. Two exceptions keep the
dashboards correct on a read-only copy that lags:

- **Read-your-writes.** After a POST from a browser that holds a session, the
  session carries a "primary until" stamp (``DASHBOARD_READ_YOUR_WRITES_S``,
  2 s, as Rails' database selector does): the redirect after a form, and
  whatever that person opens next within it, read the primary, so a note just
  added is on the page that follows however late the replica is.
- **A GET that writes** (the alert rules page makes a site's default rules on
  first use) is marked :func:`on_primary`; a replica would refuse its writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, g, has_request_context, request
from flask import session as browser_session
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from resonance.core.engine import make_engine

# Blueprints defined in this package serve the dashboards' pages.
REPLICA_PACKAGE = "dashboard"
READS = frozenset({"GET", "HEAD"})
# The browser session's key: until this Unix time, its reads go to the primary.
PRIMARY_UNTIL = "primary_until"
_ON_PRIMARY = "_resonance_on_primary"

View = TypeVar("View", bound=Callable)


def init_app(app: Flask) -> None:
    """Attach the engine(s) and session factories to ``app``."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["resonance.engine"] = engine
    app.extensions["resonance.sessionmaker"] = sessionmaker(
        engine, expire_on_commit=False
    )
    if replica_url := app.config.get("DASHBOARD_DATABASE_URL"):
        app.config.setdefault("DASHBOARD_READ_YOUR_WRITES_S", 2)
        replica = make_engine(replica_url)
        app.extensions["resonance.replica_engine"] = replica
        app.extensions["resonance.replica_sessionmaker"] = sessionmaker(
            replica, expire_on_commit=False
        )
        app.after_request(_stamp_writes)
    app.teardown_appcontext(close_session)


def engine() -> Engine:
    """The current app's engine (the primary)."""
    return current_app.extensions["resonance.engine"]


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use:
    on the replica when :func:`reads_replica` says so, else on the primary."""
    if "db_session" not in g:
        replica = reads_replica()
        name = "resonance.replica_sessionmaker" if replica else "resonance.sessionmaker"
        g.db_session = current_app.extensions[name]()
    return g.db_session


def reads_replica() -> bool:
    """Whether this request reads the dashboards' replica: one is configured,
    the request is a GET or HEAD of a dashboard blueprint's view not marked
    :func:`on_primary`, and its browser session wrote nothing lately."""
    if "resonance.replica_sessionmaker" not in current_app.extensions:
        return False
    if not has_request_context() or request.method not in READS:
        return False
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is None or blueprint.import_name.split(".")[0] != REPLICA_PACKAGE:
        return False
    if getattr(current_app.view_functions.get(request.endpoint), _ON_PRIMARY, False):
        return False
    return browser_session.get(PRIMARY_UNTIL, 0) <= time.time()


def on_primary(view: View) -> View:
    """Mark a dashboard view that writes even on GET: it always uses the
    primary. Apply it below the route decorator."""
    setattr(view, _ON_PRIMARY, True)
    return view


def _stamp_writes(response: Response) -> Response:
    """After a POST (any method but a read) from a browser holding a session,
    read the primary for the next few seconds (module docstring). The CRM API
    and the collector's callers hold no session and get no cookie."""
    if request.method not in READS and request.method != "OPTIONS":
        if browser_session:
            delay = float(current_app.config["DASHBOARD_READ_YOUR_WRITES_S"])
            browser_session[PRIMARY_UNTIL] = time.time() + delay
    return response


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; an uncommitted transaction is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
