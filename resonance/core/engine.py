"""Engines, the write turn and migrations, without Flask.

Owns: engine creation with bounded waits (and the SQLite pragmas that make it a
safe concurrent store), the per-process write turn SQLite's writers queue on,
and running Alembic. No Flask here, so the drain, the benchmarks and the
dashboard's queries can use it outside a request.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session

# The Alembic scripts stay beside the package root: resonance/migrations.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


# A database that does not answer must cost a request seconds, not minutes: the
# collector then answers 503 with Retry-After and the snippet re-sends later.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 5_000
SQLITE_BUSY_TIMEOUT_MS = 5_000
# Waiting for a free pooled connection is bounded too (the pool's default is 30 s).
POOL_TIMEOUT_S = 5


def make_engine(url: str) -> Engine:
    """Create the engine with bounded waits everywhere.

    SQLite: WAL so readers never block the writer, and a busy timeout. PostgreSQL:
    a connect timeout, statement and lock timeouts set on every new connection,
    and a ping on checkout so that connections broken while the server was away
    are replaced instead of failing the first request after it is back.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    event.listen(engine, "connect", _postgres_timeouts)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL + synchronous=NORMAL survives a crash of the process (a committed
    # transaction is in the WAL file); foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _postgres_timeouts(dbapi_connection, _record) -> None:
    # Session settings rather than the URL's ``options``, which a deployment (and
    # the test suite's search_path) already uses for its own.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    dbapi_connection.autocommit = autocommit


@contextmanager
def write_turn(session: Session) -> Iterator[None]:
    """Wait for this process's turn to write, then hold it (SQLite; a no-op on
    PostgreSQL, whose writers do not exclude each other).

    SQLite has one writer at a time, and a writer that finds the database locked
    sleeps in its busy handler, in steps of up to 100 ms, however soon the lock is
    released. The collector's writers (the group-commit writer appending to the
    inbox, a ``resonance drain`` storing it) queue on a lock file beside the
    database instead, and each starts the moment the one before it commits. Call
    it before the transaction's first statement and leave it after its commit.
    Other writers (the dashboard, imports) still meet the busy handler: correct,
    only slower.
    """
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    fd = os.open(f"{url.database}.write-turn", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        yield
    finally:
        os.close(fd)  # (which releases the lock)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations, for ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema at ``url`` to the newest migration."""
    command.upgrade(alembic_config(url), "head")


def is_empty(engine_: Engine) -> bool:
    """True when the database has no Resonance tables yet."""
    return not inspect(engine_).has_table("sites")
