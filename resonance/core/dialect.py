"""Dialect-specific statements, chosen from the session's bind.

Owns: the one place that knows SQLite and PostgreSQL spell ``INSERT … ON CONFLICT``
through different SQLAlchemy constructs (the SQL they emit is the same), and how
SQL text differs between them for the collector's raw statements: parameter marks,
``max`` against ``greatest``, and datetimes (text in SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Float, FunctionElement, extract, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session


def name(session: Session) -> str:
    """``postgresql`` or ``sqlite``."""
    return session.get_bind().dialect.name


def insert(session: Session, model):
    """An ``INSERT`` for ``model`` that supports ``on_conflict_do_*``."""
    if name(session) == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


class epoch_ms(FunctionElement):
    """SQL for the milliseconds since the epoch of a naive UTC datetime
    column: for statements built without a session (``tracker.contributions``),
    compiled for whichever database runs them."""

    type = Float()
    name = "epoch_ms"
    inherit_cache = True


@compiles(epoch_ms)
def _epoch_ms_sqlite(element, compiler, **kw):
    (column,) = element.clauses
    # Literals, not bound parameters: the expression may be said twice in a
    # statement (a window's ORDER BY and its column) and must read the same.
    days = func.julianday(column) - literal_column("2440587.5")
    return compiler.process(days * literal_column("86400000.0"), **kw)


@compiles(epoch_ms, "postgresql")
def _epoch_ms_postgresql(element, compiler, **kw):
    (column,) = element.clauses
    return compiler.process(extract("epoch", column) * literal_column("1000"), **kw)


# Bound parameters per SQLite statement (it allows 32,766).
MAX_PARAMS = 30_000

Columns = tuple[tuple[str, str], ...]  # (name, PostgreSQL type) pairs


class Result:
    """Rows a statement returns, readable once its pipeline has ended."""

    def __init__(self, cursors: list) -> None:
        self._cursors = cursors

    def rows(self) -> list[tuple]:
        rows: list[tuple] = []
        for cursor in self._cursors:
            rows.extend(cursor if isinstance(cursor, list) else cursor.fetchall())
        return rows

    def ids(self) -> list[int]:
        return [row[0] for row in self.rows()]


class RawSql:
    """SQL text run on the DBAPI connection of a session's transaction.

    For the collector's hot path: SQLAlchemy's per-statement work (compiling from
    its cache, processing each parameter) costs more than the statements
    themselves. Row sets travel as one multi-row ``VALUES`` in SQLite and as one
    JSON document in PostgreSQL, whose statement text then never changes (psycopg
    prepares it once instead of parsing thousands of marks, and encoding JSON is C
    where psycopg's array adaptation is Python). On PostgreSQL, statements issued
    inside :meth:`pipeline` travel together: one network round trip, not one each.
    SQL is written with ``?`` marks; SQLite gets datetimes in the text form
    SQLAlchemy stores, so that rows written either way compare and sort alike.
    """

    def __init__(self, session: Session) -> None:
        self.postgres = name(session) == "postgresql"
        self.greatest = "greatest" if self.postgres else "max"
        self.connection = session.connection().connection.driver_connection

    def when(self, value) -> datetime:
        """A datetime read back (SQLite returns text)."""
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    def among(self, values: list) -> tuple[str, list]:
        """``IN`` over ``values``: SQL and parameters (one array in PostgreSQL)."""
        if self.postgres:
            return "= ANY(?)", [values]
        return f"IN ({', '.join(['?'] * len(values))})", values

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements issued inside run on the way out (PostgreSQL) or at once."""
        if self.postgres:
            with self.connection.pipeline():
                yield
        else:
            yield

    def commit(self) -> None:
        """Commit the transaction (inside a pipeline: with its last statement)."""
        self.connection.commit()

    def query(self, text: str, params: list) -> Result:
        return Result([self._execute(text, params)])

    def reserve_ids(self, table: str, count: int) -> Result:
        """``count`` ids for new rows of ``table``: from its sequence, or after
        the largest id in SQLite (whose single writer is this transaction: call
        it after a write)."""
        if not count:
            return Result([])
        if self.postgres:
            return self.query(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
                " FROM generate_series(1, ?)",
                [count],
            )
        [(largest,)] = self._execute(f"SELECT coalesce(max(id), 0) FROM {table}", [])
        return Result([[(largest + n,) for n in range(1, count + 1)]])

    def insert(
        self, table: str, columns: Columns, rows: list[tuple], tail: str = ""
    ) -> Result:
        """Insert ``rows``; ``tail`` may hold ``ON CONFLICT`` and ``RETURNING``."""
        names = ", ".join(name for name, _ in columns)
        # "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a join
        # constraint.
        return Result(
            [
                self._execute(
                    f"INSERT INTO {table} ({names}) SELECT * FROM ({source}) AS s"
                    f" WHERE true {tail}",
                    params,
                )
                for source, params in self._sources(columns, rows)
            ]
        )

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
        if not rows:
            return
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

    def _execute(self, text: str, params: list):
        """A cursor (PostgreSQL: read after the pipeline) or SQLite's rows."""
        cursor = self.connection.cursor()
        if self.postgres:
            cursor.execute(text.replace("?", "%s"), params)
            return cursor
        cursor.execute(text, [_sqlite(v) for v in params])
        rows = cursor.fetchall()
        cursor.close()
        return rows


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
