"""Dashboard benchmark at scale: every dashboard page, warm, in the Flask test
client, on generated databases of several sizes and both stores.

    python bench/dashboard.py --runs 5 \\
        --db sqlite:100k=sqlite:////tmp/scale/100k.db \\
        --db sqlite:1M=sqlite:////tmp/scale/1m.db \\
        --db postgresql:100k=postgresql+psycopg://postgres@127.0.0.1/rs_scale_100k

Each ``--db STORE:SIZE=URL`` is a database filled by ``bench/generate.py`` (and
``--replicate``). The pages are found as ``bench/pages.py`` finds them (links
from ``/dash/`` as an admin, one URL per endpoint, the content page's filter
variants), then pointed at the worst cases of the first generated site: its
content item with the most page views, the lead with the most page views, the
account whose people viewed most pages, and the stage most leads are at (the
content page's ``segment=stage:…``); the content list grouped is added.

Every page is fetched once to warm caches, then ``--runs`` times; the medians
of wall time, of this process's CPU time and, on PostgreSQL, of the CPU time of
the database's server processes (from ``/proc``, so only for a server on this
machine; ticks of 10 ms) are reported per page, with the growth between
consecutive sizes of a store, measured in the same run. On SQLite this process's
CPU is the whole cost; on PostgreSQL the server's share is a column of its own.
The pages are discovered on the first database given and reused for the
others (discovery fetches each page once more). ``--explain`` prints the plan
of every SELECT a page issues.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and its name would
# shadow the ``dashboard`` package: the project root goes first instead.
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.generate import site_key  # noqa: E402
from bench.pages import admin_client, discover  # noqa: E402
from resonance.app import create_app  # noqa: E402
from resonance.core.models import (  # noqa: E402
    IdentityLink,
    Lead,
    PageView,
    Site,
)

SITE = site_key(0)
# Pages only a form reaches, beside bench/pages.py's content variants.
EXTRA_VARIANTS = {"dashboard.content_list": ("group=1",)}
# Path arguments pointed at the worst case of their kind.
WORST_ARGS = ("content_id", "lead_id", "account_id")
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Target:
    """One database to measure: its store, its size label and URL."""

    store: str
    size: str
    url: str


@dataclass(frozen=True)
class Timing:
    """One page's medians, in ms (``server_ms`` None when not measured)."""

    wall_ms: float
    cpu_ms: float
    server_ms: float | None


def parse_target(value: str) -> Target:
    """``STORE:SIZE=URL`` as a :class:`Target`."""
    label, sep, url = value.partition("=")
    store, colon, size = label.partition(":")
    if not (sep and colon and store and size and url):
        raise argparse.ArgumentTypeError(f"expected STORE:SIZE=URL, got {value!r}")
    return Target(store, size, url)


def worst_cases(session: Session) -> dict[str, object]:
    """The first site's busiest content item, most active lead and account (by
    page views), and its most common lead stage: the pages' arguments."""
    site = session.scalar(select(Site.id).where(Site.key == SITE))
    views = func.count(PageView.id)
    content = session.scalar(
        select(PageView.content_id)
        .where(PageView.site_id == site)
        .group_by(PageView.content_id)
        .order_by(views.desc(), PageView.content_id)
        .limit(1)
    )
    by_lead = (
        select(Lead.id, Lead.account_id)
        .join(IdentityLink, IdentityLink.lead_id == Lead.id)
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .where(Lead.site_id == site, Lead.merged_into_id.is_(None))
    )
    lead = session.scalar(
        by_lead.with_only_columns(Lead.id)
        .group_by(Lead.id)
        .order_by(views.desc(), Lead.id)
        .limit(1)
    )
    account = session.scalar(
        by_lead.with_only_columns(Lead.account_id)
        .where(Lead.account_id.is_not(None))
        .group_by(Lead.account_id)
        .order_by(views.desc(), Lead.account_id)
        .limit(1)
    )
    stage = session.scalar(
        select(Lead.stage)
        .where(Lead.site_id == site, Lead.stage.is_not(None))
        .group_by(Lead.stage)
        .order_by(func.count().desc(), Lead.stage)
        .limit(1)
    )
    return {
        "site_key": SITE,
        "content_id": content,
        "lead_id": lead,
        "account_id": account,
        "stage": stage,
    }


def page_urls(app, found: list[str], worst: dict[str, object]) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page to time: each URL ``found`` by discovery
    (one per endpoint, and the content page's variants) with its site and ids
    made the worst cases, the stage segment and :data:`EXTRA_VARIANTS` added."""
    adapter = app.url_map.bind("localhost")
    extras = {
        **EXTRA_VARIANTS,
        "dashboard.content_page": (f"segment=stage:{worst['stage']}",),
    }
    pages: list[tuple[str, str]] = []
    for url in found:
        parts = urlsplit(url)
        endpoint, args = adapter.match(parts.path, method="GET")
        args = {
            k: SITE if k == "site_key" else worst.get(k, v) for k, v in args.items()
        }
        if any(args.get(name) is None for name in WORST_ARGS if name in args):
            continue  # no such row on this database (e.g. no account)
        path = adapter.build(endpoint, args)
        pages.append((endpoint, f"{path}?{parts.query}" if parts.query else path))
        for variant in extras.pop(endpoint, ()):
            query = "&".join(filter(None, (parts.query, variant)))
            pages.append((endpoint, f"{path}?{query}"))
    return list(dict.fromkeys(pages))


class ServerCpu:
    """CPU time of a PostgreSQL database's server processes on this machine,
    read from ``/proc`` (utime + stime of every backend connected to it)."""

    def __init__(self, engine) -> None:
        self.connection = engine.connect()
        self.own = self.connection.scalar(text("SELECT pg_backend_pid()"))

    def pids(self) -> list[int]:
        rows = self.connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        self.connection.rollback()
        return [pid for (pid,) in rows]

    @staticmethod
    def ticks(pids: list[int]) -> dict[int, int]:
        found = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
            except OSError:
                continue
            values = fields.split()
            found[pid] = int(values[11]) + int(values[12])  # utime, stime
        return found

    def close(self) -> None:
        self.connection.close()


def timed(
    fetch: Callable[[], object],
    runs: int,
    server: ServerCpu | None,
    cap_s: float = float("inf"),
) -> Timing:
    """Warm once, then the medians of ``runs`` fetches, or of as many as fit in
    ``cap_s`` seconds (at least one): at 10 M events a page can take a minute."""
    fetch()
    walls: list[float] = []
    cpus, servers = [], []
    while len(walls) < runs and sum(walls) < cap_s * 1000:
        before = server.ticks(server.pids()) if server else {}
        wall, cpu = time.perf_counter(), time.process_time()
        fetch()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        if server:
            after = server.ticks(server.pids())
            spent = sum(t - before.get(pid, 0) for pid, t in after.items())
            servers.append(spent * TICK_MS)
    return Timing(
        statistics.median(walls),
        statistics.median(cpus),
        statistics.median(servers) if server else None,
    )


def measure(
    target: Target,
    runs: int,
    explain: bool = False,
    only: str = "",
    log=print,
    found: list[str] | None = None,
    cap_s: float = float("inf"),
) -> tuple[dict[str, Timing], list[str]]:
    """Every page's medians (pages whose URL holds ``only``) on one database,
    and the pages discovered: ``found`` (from an earlier, smaller database of
    the run: discovery fetches every page once more) or discovered here."""
    app = create_app(
        {"DATABASE_URL": target.url, "SECRET_KEY": "bench", "ALERTS_IN_WORKERS": False}
    )
    engine = app.extensions["resonance.engine"]
    with Session(engine) as session:
        worst = worst_cases(session)
    log(f"{target.store} {target.size}: worst cases {worst}")
    client = admin_client(app)
    server = ServerCpu(engine) if engine.dialect.name == "postgresql" else None
    results: dict[str, Timing] = {}
    if found is None:
        found = discover(app, client, per_endpoint=1)
    for _endpoint, url in page_urls(app, found, worst):
        if only not in url:
            continue

        def fetch(url: str = url) -> bytes:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
            return response.data

        if explain:
            print_plans(engine, url, fetch)
        name = url.replace(f"/dash/sites/{SITE}", "…")
        results[name] = timed(fetch, runs, server, cap_s)
        timing = results[name]
        server_ms = "" if timing.server_ms is None else f" {timing.server_ms:7.0f}"
        log(f"  {timing.wall_ms:9.1f} {timing.cpu_ms:9.1f}{server_ms} ms  {name}")
    if server:
        server.close()
    engine.dispose()
    return results, found


def print_plans(engine, name: str, fetch: Callable[[], object]) -> None:
    """Fetch once, recording the SELECTs, then print each one's plan."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        fetch()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE "
    print(f"### {name}")
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        for statement, parameters in seen:
            cursor = raw.cursor()
            cursor.execute(prefix + statement, parameters)
            first = " ".join(statement.split())[:160]
            print(f"-- {first}")
            for row in cursor.fetchall():
                print("   ", row[-1] if sqlite else row[0])
        connection.rollback()


def _ratio(new: float, old: float) -> str:
    return f"{new / max(old, 0.001):.1f}×"


def table(results: dict[Target, dict[str, Timing]], store: str) -> str:
    """One store's Markdown table: per page and size the wall, CPU (and server
    CPU) medians, then the growth of wall and of CPU (process plus server)
    between consecutive sizes."""
    own = [t for t in results if t.store == store]
    server = any(
        timing.server_ms is not None for t in own for timing in results[t].values()
    )
    head = ["page"]
    for t in own:
        head += [f"{t.size} wall", f"{t.size} CPU"] + ([f"{t.size} server"] * server)
    steps = list(zip(own, own[1:], strict=False))
    for old, new in steps:
        head += [f"wall {new.size}/{old.size}", f"CPU {new.size}/{old.size}"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name in results[own[0]]:
        if any(name not in results[t] for t in own):
            continue
        cells = [f"`{name}`"]
        for t in own:
            timing = results[t][name]
            cells += [f"{timing.wall_ms:.1f}", f"{timing.cpu_ms:.1f}"]
            cells += [f"{timing.server_ms:.0f}"] if server else []
        for old, new in steps:
            before, after = results[old][name], results[new][name]
            cells += [
                _ratio(after.wall_ms, before.wall_ms),
                _ratio(_cost(after), _cost(before)),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cost(timing: Timing) -> float:
    """CPU of the page: this process's, plus the server's when measured."""
    return timing.cpu_ms + (timing.server_ms or 0.0)


def misses(
    results: dict[Target, dict[str, Timing]], store: str, budget_ms: float
) -> list[str]:
    """The pages of ``store`` over ``budget_ms`` at its largest size, or growing
    more than 1.5× between its two largest sizes, by wall time or by CPU time
    (process plus server: what the wall would be on an idle machine, at least)."""
    own = [t for t in results if t.store == store]
    largest = results[own[-1]]
    found = []
    for name, timing in largest.items():
        previous = results[own[-2]].get(name) if len(own) > 1 else None
        wall, cpu = timing.wall_ms, _cost(timing)
        grew = (
            (wall / max(previous.wall_ms, 0.001), cpu / max(_cost(previous), 0.001))
            if previous
            else (0.0, 0.0)
        )
        if max(wall, cpu) > budget_ms or max(grew) > 1.5:
            line = f"{name}: {wall:.0f} ms wall, {cpu:.0f} ms CPU at {own[-1].size}"
            if previous:
                line += f"; ×{grew[0]:.1f} wall, ×{grew[1]:.1f} CPU from {own[-2].size}"
            found.append(line)
    return found


def row_counts(url: str) -> str:
    """Page views, clicks, sections, attention bands and leads of a database."""
    from resonance.core.engine import make_engine

    engine = make_engine(url)
    names = ("pageviews", "clicks", "page_sections", "attention_bands", "leads")
    with engine.connect() as connection:
        counts = [
            connection.scalar(text(f"SELECT count(*) FROM {name}")) for name in names
        ]
    engine.dispose()
    return ", ".join(f"{n:,} {name}" for n, name in zip(counts, names, strict=True))


BUDGETS = {"postgresql": 300.0, "sqlite": 500.0}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=parse_target, action="append", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--cap",
        type=float,
        default=float("inf"),
        metavar="S",
        help="fewer runs of a page once its runs took S seconds (at least one)",
    )
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="", help="pages whose URL has this")
    args = parser.parse_args(argv)
    results, found = {}, None
    for target in args.db:
        print(f"{target.store} {target.size}: {row_counts(target.url)}", flush=True)
        print("  wall ms, CPU ms (, server CPU ms), page", flush=True)
        results[target], found = measure(
            target,
            max(1, args.runs),
            args.explain,
            args.only,
            log=lambda line: print(line, flush=True),
            found=found,
            cap_s=args.cap,
        )
    parts = []
    for store in dict.fromkeys(t.store for t in args.db):
        capped = f", fewer past {args.cap:g} s a page" if args.cap < 1e9 else ""
        parts.append(f"## {store} (ms, median of {args.runs}{capped}, warm)")
        parts.append(table(results, store))
        budget = BUDGETS.get(store, 300.0)
        over = misses(results, store, budget)
        parts.append(f"Over {budget:g} ms or growing > 1.5×: {len(over)}")
        parts += [f"- {line}" for line in over]
    report = "\n".join(parts)
    print(report)
    return report


if __name__ == "__main__":
    main()
