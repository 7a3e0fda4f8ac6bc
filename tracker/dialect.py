"""Dialect-specific statements, chosen from the session's bind.

Owns: the one place that knows SQLite and PostgreSQL spell ``INSERT … ON CONFLICT``
through different SQLAlchemy constructs (the SQL they emit is the same), and how
SQL text differs between them for the collector's raw statements: parameter marks,
``max`` against ``greatest``, and datetimes (text in SQLite).
"""

from __future__ import annotations

import json
from datetime import datetime

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


# Bound parameters per SQLite statement (it allows 32,766).
MAX_PARAMS = 30_000

Columns = tuple[tuple[str, str], ...]  # (name, PostgreSQL type) pairs


class RawSql:
    """SQL text run on the DBAPI connection of a session's transaction.

    For the collector's hot path: SQLAlchemy's per-statement work (compiling from
    its cache, processing each parameter) costs more than the statements
    themselves. Row sets travel as one multi-row ``VALUES`` in SQLite and as one
    JSON document in PostgreSQL, whose statement text then never changes (psycopg
    prepares it once instead of parsing thousands of marks, and encoding JSON is C
    where psycopg's array adaptation is Python).
    SQL is written with ``?`` marks; SQLite gets datetimes in the text form
    SQLAlchemy stores, so that rows written either way compare and sort alike.
    """

    def __init__(self, session: Session) -> None:
        self.postgres = name(session) == "postgresql"
        self.greatest = "greatest" if self.postgres else "max"
        self.cursor = session.connection().connection.cursor()

    def when(self, value) -> datetime:
        """A datetime read back (SQLite returns text)."""
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    def among(self, values: list) -> tuple[str, list]:
        """``IN`` over ``values``: SQL and parameters (one array in PostgreSQL)."""
        if self.postgres:
            return "= ANY(?)", [values]
        return f"IN ({', '.join(['?'] * len(values))})", values

    def query(self, text: str, params: list) -> list[tuple]:
        self._execute(text, params)
        return self.cursor.fetchall()

    def insert(
        self, table: str, columns: Columns, rows: list[tuple], tail: str = ""
    ) -> list[tuple]:
        """Insert ``rows``; ``tail`` may hold ``ON CONFLICT`` and ``RETURNING``
        (whose rows are returned)."""
        names = ", ".join(name for name, _ in columns)
        returned: list[tuple] = []
        for source, params in self._sources(columns, rows):
            # "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a
            # join constraint.
            self._execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM ({source}) AS s"
                f" WHERE true {tail}",
                params,
            )
            if "RETURNING" in tail:
                returned.extend(self.cursor.fetchall())
        return returned

    def update(self, table: str, columns: Columns, rows: list[tuple], sets: str):
        """Update ``table`` from ``rows`` whose first column is the row id; the
        values are ``u.<name>`` in ``sets``."""
        names = ", ".join(name for name, _ in columns)
        for source, params in self._sources(columns, rows):
            self._execute(
                f"WITH u({names}) AS ({source}) UPDATE {table} SET {sets}"
                f" FROM u WHERE {table}.id = u.{columns[0][0]}",
                params,
            )

    def _sources(self, columns: Columns, rows: list[tuple]):
        """Row sets as SQL sources with their parameters, chunked for SQLite."""
        if self.postgres:
            fields = ", ".join(
                f"(r->>{index})::{kind}" for index, (_, kind) in enumerate(columns)
            )
            yield (
                f"SELECT {fields} FROM jsonb_array_elements(?::jsonb) AS r",
                [json.dumps(rows, default=_iso)],
            )
            return
        one = "(" + ",".join(["?"] * len(columns)) + ")"
        per = max(1, MAX_PARAMS // len(columns))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            yield (
                "VALUES " + ",".join([one] * len(chunk)),
                [v for row in chunk for v in row],
            )

    def _execute(self, text: str, params: list) -> None:
        if self.postgres:
            self.cursor.execute(text.replace("?", "%s"), params)
        else:
            self.cursor.execute(text, [_sqlite(v) for v in params])


def _iso(value):
    """JSON for a datetime (PostgreSQL reads the ISO text as a timestamp)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _sqlite(value):
    """Datetimes as SQLAlchemy stores them in SQLite; the rest as is."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    return value
