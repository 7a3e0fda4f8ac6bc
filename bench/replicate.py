"""Bigger databases from a generated one, in SQL, and planner statistics.

For dashboard timings at sizes that ingest cannot reach in the time at hand
(``python bench/generate.py 0 --replicate K``), and statistics after any bulk
load, so that timings do not depend on when autovacuum ran.
"""

from __future__ import annotations

import sys
from pathlib import Path

# First, also when PYTHONPATH names the root already: python bench/generate.py
# puts bench/ first, where dashboard.py would hide the dashboard package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import MetaData, func, insert, literal, select, text  # noqa: E402

from resonance.core.engine import make_engine  # noqa: E402

# The tables replicate() copies, in foreign-key order, with the id columns to
# shift (by that table's offset) and the unique text columns to suffix.
_COPIED = (
    ("visitors", {"id": "visitors"}, ("uid",)),
    ("visit_sessions", {"id": "visit_sessions", "visitor_id": "visitors"}, ()),
    (
        "pageviews",
        {"id": "pageviews", "visitor_id": "visitors", "session_id": "visit_sessions"},
        ("event_id",),
    ),
    ("clicks", {"id": "clicks", "pageview_id": "pageviews"}, ("event_id",)),
    ("page_sections", {"pageview_id": "pageviews"}, ()),
    ("leads", {"id": "leads"}, ("email", "crm_id")),
    (
        "identifies",
        {"id": "identifies", "visitor_id": "visitors", "pageview_id": "pageviews"},
        ("event_id", "email"),
    ),
    ("identity_links", {"visitor_id": "visitors", "lead_id": "leads"}, ()),
    ("stage_changes", {"id": "stage_changes", "lead_id": "leads"}, ("crm_event_id",)),
)


def replicate(url: str, times: int, log=print) -> None:
    """Make the database ``times`` as big by copying its visitors with all their
    events, leads and stage histories ``times - 1`` times, in SQL.

    For dashboard timings at sizes that ingest cannot reach in the time at hand:
    the copies keep the distributions (same content items, same moments) of data
    that went through ingest once. Ids are shifted by the table's maximum id,
    unique text gets a ``~r<copy>`` suffix (e-mails: before the ``@``).
    """
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=[name for name, _, _ in _COPIED])
    with engine.begin() as connection:
        # The originals are the rows up to each table's maximum id now.
        top = {
            name: connection.scalar(select(func.max(meta.tables[name].c.id))) or 0
            for name, shifts, _ in _COPIED
            if "id" in shifts
        }
        for copy in range(1, times):
            for name, shifts, suffixed in _COPIED:
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
            log(f"copy {copy + 1} of {times} done")
        if engine.dialect.name == "postgresql":
            for name in top:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    engine.dispose()


def analyze(url: str) -> None:
    """Give PostgreSQL's planner statistics of the tables just filled.

    Autovacuum gathers them some minutes after a bulk load; timings taken before
    it did measure plans made blind. SQLite gets none: its planner chose a slower
    plan for the content list with ``ANALYZE`` statistics, and the app never
    gathers them either (bench/RESULTS.md, "Dashboard at 10 k, 100 k and 1 M
    events").
    """
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
