"""Planner statistics kept current while the event tables are young (PostgreSQL).

Why: PostgreSQL plans a foreign-key check, and each statement psycopg prepares,
once per connection, and keeps the plan until the table's statistics change.
Autovacuum analyses a new table after its first 50 rows, when it fits in a page
or two and a sequential scan is the best plan; every check made afterwards scans
the whole table, and keeps doing so as the table grows, until autovacuum's next
round (up to a minute later, and later still when it is busy). Measured with
``bench/ingest.py --analyze``: 44,664 sequential scans of ``pageviews`` while
7,424 page views were stored, the drain's inserts 10-15x slower, a 10 s burst
stored 30 s after it ended.

The drain, which is what makes the tables grow, analyses a table once it holds
at least twice the pages its statistics describe: rare (once per doubling),
cheap (ANALYZE samples at most 30,000 rows), and it replaces the stale plans of
every connection. A table never analysed counts as one of no pages: without
statistics the planner guesses how selective ``= ANY(…)`` is, and the drain's
look-ups of page views and visits scanned whole tables (RESULTS.md, "The
drain's statements in PostgreSQL").
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from resonance.core import dialect

CHECK_EVERY_S = 2.0  # per process: one catalog query, well under a millisecond
MIN_PAGES = 8  # 64 kB: below this a table's plans do not matter

log = logging.getLogger(__name__)
_next_check = 0.0

_GROWN = text(
    "SELECT c.relname FROM pg_class c"
    " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
    " AND pg_relation_size(c.oid) / current_setting('block_size')::bigint"
    " >= 2 * c.relpages + :min_pages"
    " ORDER BY c.relname"
)


def grown_tables(session: Session) -> list[str]:
    """Tables of the current schema at least twice as large as their statistics
    say (and larger than ``MIN_PAGES``)."""
    return list(session.scalars(_GROWN, {"min_pages": MIN_PAGES}))


def refresh(session: Session) -> list[str]:
    """ANALYZE the tables that outgrew their statistics; which ones. A no-op on
    SQLite, whose planner keeps no statistics unless asked to."""
    if dialect.name(session) != "postgresql":
        return []
    tables = grown_tables(session)
    if tables:
        quote = session.get_bind().dialect.identifier_preparer.quote
        session.execute(text("ANALYZE " + ", ".join(quote(t) for t in tables)))
        log.info("statistics refreshed: %s", ", ".join(tables))
    session.commit()
    return tables


def refresh_now_and_then(session: Session) -> None:
    """:func:`refresh`, at most every ``CHECK_EVERY_S`` in this process (the
    drain calls it after each chunk it stores)."""
    global _next_check
    now = time.monotonic()
    if now < _next_check:
        return
    _next_check = now + CHECK_EVERY_S
    refresh(session)
