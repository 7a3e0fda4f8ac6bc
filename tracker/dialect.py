"""Dialect-specific statements, chosen from the session's bind.

Owns: the one place that knows SQLite and PostgreSQL spell ``INSERT … ON CONFLICT``
through different SQLAlchemy constructs (the SQL they emit is the same), and that
the larger of two values is ``max`` in SQLite and ``greatest`` in PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def name(session: Session) -> str:
    """``postgresql`` or ``sqlite``."""
    return session.get_bind().dialect.name


def insert(session: Session, model):
    """An ``INSERT`` for ``model`` that supports ``on_conflict_do_*``."""
    if name(session) == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def greatest(session: Session):
    """The SQL function returning the larger of its arguments."""
    return "greatest" if name(session) == "postgresql" else "max"


def later(session: Session, column, value):
    """SQL for the larger of a column and a value (SQLite ``max``, PG ``greatest``)."""
    return getattr(func, greatest(session))(column, value)
