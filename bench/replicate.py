"""Bigger databases from a generated one, in SQL, and planner statistics.

For dashboard timings at sizes that ingest cannot reach in the time at hand
(``python bench/generate.py 0 --replicate K``), and statistics after any bulk
load, so that timings do not depend on when autovacuum ran.

A copy is what ingest would have stored had the same visitors come K times as
different people: every row that belongs to a visitor (sessions, page views,
clicks, sections, attention bands, identifies, identity links and conflicts) or
to one of its leads (the lead, its stage history, its alerts and their
deliveries) is copied with new ids and event ids, the same content, moments and
figures. ``tests/test_bench_generate.py`` proves every table's copy equal to
the original, and that every table of the models is either copied or listed in
:data:`NOT_COPIED` with the reason.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

# First, also when PYTHONPATH names the root already: python bench/generate.py
# puts bench/ first, where dashboard.py would hide the dashboard package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import (  # noqa: E402
    MetaData,
    event,
    func,
    insert,
    literal,
    select,
    text,
)

from resonance.core.engine import make_engine  # noqa: E402

# The tables replicate() copies, in foreign-key order, with the id columns to
# shift (by that table's offset; the first names the originals) and the unique
# text columns to suffix. Columns not named are copied as they are: a copy reads
# the same content items at the same moments, its leads belong to the same
# accounts (same company, same e-mail domain: what ingest and the CRM would
# group them into) and its alerts come from the same rules.
COPIED = (
    ("visitors", {"id": "visitors"}, ("uid",)),
    ("visit_sessions", {"id": "visit_sessions", "visitor_id": "visitors"}, ()),
    (
        "pageviews",
        {"id": "pageviews", "visitor_id": "visitors", "session_id": "visit_sessions"},
        ("event_id",),
    ),
    ("clicks", {"id": "clicks", "pageview_id": "pageviews"}, ("event_id",)),
    ("page_sections", {"pageview_id": "pageviews"}, ()),
    ("attention_bands", {"pageview_id": "pageviews"}, ()),
    ("bot_hits", {"id": "bot_hits"}, ()),
    ("leads", {"id": "leads", "merged_into_id": "leads"}, ("email", "crm_id")),
    (
        "identifies",
        {"id": "identifies", "visitor_id": "visitors", "pageview_id": "pageviews"},
        ("event_id", "email"),
    ),
    ("identity_links", {"visitor_id": "visitors", "lead_id": "leads"}, ()),
    (
        "identity_conflicts",
        {
            "id": "identity_conflicts",
            "visitor_id": "visitors",
            "linked_lead_id": "leads",
            "attempted_lead_id": "leads",
        },
        (),
    ),
    ("stage_changes", {"id": "stage_changes", "lead_id": "leads"}, ("crm_event_id",)),
    ("alerts", {"id": "alerts", "lead_id": "leads"}, ()),
    ("alert_deliveries", {"id": "alert_deliveries", "alert_id": "alerts"}, ()),
)

# SQLite's page cache while copying (KiB): its default 2 MB makes every index
# insert of a large copy a read from disk.
SQLITE_CACHE_KIB = 2_000_000

# Every other table, and why a copy of the visitors leaves it as it is.
NOT_COPIED = {
    "sites": "the same sites",
    "user_sites": "the same people see them",
    "users": "the same people see them",
    "contents": "the same content items are read",
    "content_sections": "the same content items are read",
    "content_groups": "the same content items are read",
    "snapshots": "the same pages are drawn",
    "snapshot_elements": "the same pages are drawn",
    "accounts": "a copied lead has its original's company and e-mail domain",
    "alert_rules": "rules are per site",
    "api_tokens": "per site",
    "notes": "written by people, not ingest; the generator writes none",
    "daily_salts": "one per day, whoever visits",
    "content_daily": "derived from the raw tables: rebuild it after copying",
    "rollup_state": "derived from the raw tables: rebuild it after copying",
    "section_totals": "a summary: `resonance rebuild-summaries` after copying",
    "depth_totals": "a summary: `resonance rebuild-summaries` after copying",
    "band_totals": "a summary: `resonance rebuild-summaries` after copying",
    "view_totals": "a summary: `resonance rebuild-summaries` after copying",
    "spread_totals": "a summary: `resonance rebuild-summaries` after copying",
    "source_totals": "a summary: `resonance rebuild-summaries` after copying",
    "element_totals": "a summary: `resonance rebuild-summaries` after copying",
    "text_totals": "a summary: `resonance rebuild-summaries` after copying",
    "grid_totals": "a summary: `resonance rebuild-summaries` after copying",
    "summary_changes": "emptied by `resonance rebuild-summaries` after copying",
    "inbox": "beacons not stored yet; empty after generation",
    "erasures": "a record of people's requests, not traffic",
    "alembic_version": "the schema's",
}


def _copy_rows(connection, meta: MetaData, top: dict[str, int], copy: int) -> None:
    """One copy of every table of :data:`COPIED`, ids shifted by ``copy`` × the
    originals' maximum, unique text suffixed ``~r<copy>`` (e-mails before ``@``)."""
    for name, shifts, suffixed in COPIED:
        table = meta.tables[name]
        columns = []
        for column in table.c:
            if column.name in shifts:
                columns.append(column + copy * top[shifts[column.name]])
            elif column.name == "email":
                columns.append(func.replace(column, "@", f"~r{copy}@"))
            elif column.name in suffixed:
                columns.append(column + literal(f"~r{copy}"))
            else:
                columns.append(column)
        key, target = next(iter(shifts.items()))
        originals = select(*columns).where(table.c[key] <= top[target])
        connection.execute(
            insert(table).from_select([c.name for c in table.c], originals)
        )


def replicate(url: str, times: int, log=print, *, held: int = 1) -> None:
    """Make the database ``times`` as big by copying its visitors with all their
    events, leads, stage histories and alerts ``times - 1`` times, in SQL.

    For dashboard timings at sizes that ingest cannot reach in the time at hand:
    the copies keep the distributions (same content items, same moments) of data
    that went through ingest once. Ids are shifted by the table's maximum id,
    unique text gets a ``~r<copy>`` suffix (e-mails: before the ``@``). Each copy
    is its own transaction, so that a long run shows its progress, and a run
    that stopped can be carried on: ``held`` says how many copies the database
    holds already (1: the originals alone), each table's originals being its
    rows up to its maximum id ÷ ``held``.

    On PostgreSQL the copies run without the app's statement timeout and with
    the foreign-key triggers off (``session_replication_role = replica``): every
    reference of a copy is shifted with the row it points to (the test proves
    the copies equal), and checking each of ten million rows one by one took
    most of the time.
    """
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _large_cache)
    meta = MetaData()
    meta.reflect(engine, only=[name for name, _, _ in COPIED])
    started = time.monotonic()
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        # The originals are the rows up to each table's maximum id ÷ held.
        top = {}
        for name, shifts, _ in COPIED:
            if "id" in shifts:
                largest = connection.scalar(select(func.max(meta.tables[name].c.id)))
                if (largest or 0) % held:
                    raise SystemExit(f"{name} does not hold {held} copies")
                top[name] = (largest or 0) // held
    for copy in range(held, times):
        with engine.begin() as connection:
            if postgresql:
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            _copy_rows(connection, meta, top, copy)
        log(f"copy {copy + 1} of {times} done, {time.monotonic() - started:.0f} s")
    if postgresql:
        with engine.begin() as connection:
            for name in top:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                    )
                )
    engine.dispose()


def _large_cache(dbapi_connection, _record) -> None:
    dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def analyze(url: str) -> None:
    """Give PostgreSQL's planner statistics of the tables just filled, and
    their visibility maps.

    Autovacuum gathers both some minutes after a bulk load (PostgreSQL 13 and
    later vacuum a table after enough inserts); timings taken before it did
    measure plans made blind, and index-only scans (the distinct visitors'
    covering indexes) that still visit every heap page. This machine's cluster
    runs with autovacuum off, so it is done here. SQLite gets none: its planner
    chose a slower plan for the content list with ``ANALYZE`` statistics, and
    the app never gathers them either (bench/RESULTS.md, "Dashboard at 10 k,
    100 k and 1 M events").
    """
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
