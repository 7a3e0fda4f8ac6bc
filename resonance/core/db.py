"""The database inside the app: one engine per app, one session per request.

Shaped like the Flask tutorial's ``db.py``: the factory only calls
:func:`init_app`; views and commands call :func:`get_session`. The engine
itself is made in ``resonance.core.engine``.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from resonance.core.engine import make_engine


def init_app(app: Flask) -> None:
    """Attach the engine and the session factory to ``app``."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["resonance.engine"] = engine
    app.extensions["resonance.sessionmaker"] = sessionmaker(
        engine, expire_on_commit=False
    )
    app.teardown_appcontext(close_session)


def engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["resonance.engine"]


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["resonance.sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; an uncommitted transaction is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
