"""Dialect-specific statements, chosen from the session's bind.

Owns: the one place that knows SQLite and PostgreSQL spell ``INSERT … ON CONFLICT``
through different SQLAlchemy constructs (the SQL they emit is the same).
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(session: Session, model):
    """An ``INSERT`` for ``model`` that supports ``on_conflict_do_*``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def greatest(session: Session):
    """The SQL function returning the larger of its arguments."""
    return "greatest" if session.get_bind().dialect.name == "postgresql" else "max"
