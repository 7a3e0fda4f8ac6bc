"""The runtime contract "only ingest writes the event tables" (and "only
tracker.summaries writes the summaries"), checked on every statement the tests
run.

import-linter checks who imports whom; this checks who *writes*: an INSERT or
UPDATE on an event table must be executed from ``tracker.ingest`` and a DELETE
from ``tracker.lifecycle`` (retention and erasure), whatever the SQL was built
with (ORM, Core or raw text). The writer is the nearest frame of the project's
own packages below SQLAlchemy and ``resonance.core`` (which only carry the
statement); tests, migrations and the benchmark's row copier may write
directly. ORM objects added to a session are flushed by their writer.
"""

from __future__ import annotations

import re
import sys

from sqlalchemy import Engine, event

EVENT_TABLES = frozenset(
    {
        "pageviews",
        "clicks",
        "page_sections",
        "attention_bands",
        "identifies",
        "bot_hits",
        "visit_sessions",
    }
)
WRITERS = {"INSERT": "tracker.ingest", "UPDATE": "tracker.ingest"}
WRITERS["DELETE"] = "tracker.lifecycle"
# Derived from the events, kept exact by one module whoever changes them.
SUMMARY_TABLES = frozenset(
    {
        "section_totals",
        "depth_totals",
        "band_totals",
        "view_totals",
        "spread_totals",
        "source_totals",
        "element_totals",
        "text_totals",
        "grid_totals",
    }
)
SUMMARY_WRITER = "tracker.summaries"
PROJECT = ("tracker", "dashboard", "resonance", "bench")
CARRIERS = ("resonance.core",)  # pass a statement on; never its author
# Migrations move data; the benchmark copies rows it first stored through
# ingest (bench/generate.py, replicate), to reach 10 M events in minutes.
FREE = ("resonance.migrations", "bench")
STATEMENT = re.compile(
    r'^\s*(?:WITH\b.*?\)\s*)?(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?',
    re.IGNORECASE | re.DOTALL,
)


class EventWriteOutsideIngest(AssertionError):
    """A module other than the owner wrote an event table."""


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def writer_of_this_call() -> str | None:
    """The nearest project module on the stack (None: a test wrote directly)."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if _in(module, PROJECT) and not _in(module, CARRIERS):
            return module
        frame = frame.f_back
    return None


def check(statement: str) -> None:
    """Raise when ``statement`` writes an event table from the wrong module."""
    found = STATEMENT.match(statement)
    table = found.group(2).lower() if found else ""
    if table not in EVENT_TABLES | SUMMARY_TABLES:
        return
    verb = found.group(1).split()[0].upper()
    writer = writer_of_this_call()
    if writer is None or _in(writer, FREE):
        return
    owner = SUMMARY_WRITER if table in SUMMARY_TABLES else WRITERS[verb]
    if not _in(writer, (owner,)):
        raise EventWriteOutsideIngest(
            f"{writer} ran {verb} on {found.group(2)}: only {owner} may"
        )


def _before_cursor_execute(conn, cursor, statement, parameters, context, many):
    check(statement)


def install() -> None:
    """Check every statement of every engine of this process (once)."""
    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
