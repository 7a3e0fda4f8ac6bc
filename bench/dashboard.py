"""Dashboard benchmark: warm timings of the content list, the content page (each
figure's query, and the whole page through the Flask test client) and the
prospect page, on databases of several sizes and both stores.

    python bench/dashboard.py \\
        --db sqlite:10k=sqlite:////tmp/scale/10k.db \\
        --db sqlite:1M=sqlite:////tmp/scale/1m.db \\
        --db postgresql:10k=postgresql+psycopg://postgres@127.0.0.1/rs_scale_10k ...

Each ``--db STORE:SIZE=URL`` is a database filled by ``bench/generate.py``. The
content item measured is the most viewed one of the first generated site, the
prospect the lead with the most page views: the worst cases. Every measurement
runs once to warm caches, then ``--runs`` times; the median is reported in ms,
with the ratio of the largest size to the smallest per store (sub-linear growth
means a ratio well below the ratio of the sizes). ``--explain`` prints the plan
(EXPLAIN QUERY PLAN / EXPLAIN) of every statement a measurement issues.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and its name would
# shadow the ``dashboard`` package: the project root goes first instead.
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.generate import site_key  # noqa: E402
from dashboard.queries.attention import attention_sections  # noqa: E402
from dashboard.queries.clicks import click_grid, click_placement, top_elements  # noqa: E402
from dashboard.queries.content_item import SNAPSHOT_WIDTHS, content_info, view_stats  # noqa: E402
from dashboard.queries.content_list import content_list  # noqa: E402
from dashboard.queries.content_report import content_report  # noqa: E402
from dashboard.queries.influence import suggested_reads  # noqa: E402
from dashboard.queries.prospect_reading import known_topics, reading_history  # noqa: E402
from dashboard.queries.prospect_report import prospect_report  # noqa: E402
from dashboard.queries.prospects import prospect, prospect_notes  # noqa: E402
from dashboard.queries.scroll import scroll_reach  # noqa: E402
from dashboard.queries.segments import ContentFilter  # noqa: E402
from resonance.app import create_app  # noqa: E402
from resonance.auth import users  # noqa: E402
from resonance.core.models import IdentityLink, Lead, PageView, Site, User  # noqa: E402

SITE = site_key(0)


@dataclass(frozen=True)
class Target:
    """One database to measure: its store, its size label and URL."""

    store: str
    size: str
    url: str


def parse_target(value: str) -> Target:
    """``STORE:SIZE=URL`` as a :class:`Target`."""
    label, sep, url = value.partition("=")
    store, colon, size = label.partition(":")
    if not (sep and colon and store and size and url):
        raise argparse.ArgumentTypeError(f"expected STORE:SIZE=URL, got {value!r}")
    return Target(store, size, url)


def worst_cases(session: Session) -> tuple[int, int, int]:
    """The site id, its most viewed content item and its most active lead."""
    site = session.scalar(select(Site.id).where(Site.key == SITE))
    content = session.scalar(
        select(PageView.content_id)
        .where(PageView.site_id == site)
        .group_by(PageView.content_id)
        .order_by(func.count().desc(), PageView.content_id)
        .limit(1)
    )
    lead = session.scalar(
        select(IdentityLink.lead_id)
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Lead, Lead.id == IdentityLink.lead_id)
        .where(PageView.site_id == site, Lead.merged_into_id.is_(None))
        .group_by(IdentityLink.lead_id)
        .order_by(func.count().desc(), IdentityLink.lead_id)
        .limit(1)
    )
    return site, content, lead


def admin_client(app, session: Session):
    """A test client logged in as the admin ``bench`` (created once per
    database): the timed pages include the login check every request makes."""
    user = session.scalar(select(User).where(User.username == "bench"))
    if user is None:
        user = users.create_user(
            session, "bench", "admin", password=users.new_password()
        )
        session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["uid"], cookie["nonce"] = user.id, user.session_nonce
    return client


def measurements(app, session: Session) -> dict[str, Callable[[], object]]:
    """Every timed step, by name: queries on ``session``, pages on a test client."""
    site, cid, lead_id = worst_cases(session)
    flt = ContentFilter(site_key=SITE)
    info = content_info(session, SITE, cid)
    width = SNAPSHOT_WIDTHS["desktop"]
    client = admin_client(app, session)

    def page(path: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            return response.data

        return get

    stats = view_stats(session, flt, cid)
    lead = prospect(session, site, lead_id)
    base = f"/dash/sites/{SITE}"
    return {
        "content list: query": lambda: content_list(session, flt),
        "content list: JSON page": page(f"{base}/content?format=json"),
        "content: view_stats": lambda: view_stats(session, flt, cid),
        "content: click_placement": lambda: click_placement(session, flt, cid, width),
        "content: click_grid": lambda: click_grid(session, flt, cid, width),
        "content: top_elements": lambda: top_elements(session, flt, cid),
        "content: scroll_reach": lambda: scroll_reach(session, flt, cid, stats),
        "content: attention_sections": lambda: attention_sections(session, flt, cid),
        "content: report (all queries)": lambda: content_report(session, flt, info),
        "content: JSON page": page(f"{base}/content/{cid}?format=json"),
        "content: HTML page": page(f"{base}/content/{cid}"),
        "prospect: prospect": lambda: prospect(session, site, lead_id),
        "prospect: reading_history": lambda: reading_history(session, site, lead_id),
        "prospect: known_topics": lambda: known_topics(session, site, lead_id),
        "prospect: suggested_reads": lambda: suggested_reads(session, site, lead_id),
        "prospect: prospect_notes": lambda: prospect_notes(session, site, lead_id),
        "prospect: report (all queries)": lambda: prospect_report(session, site, lead),
        "prospect: JSON page": page(f"{base}/prospects/{lead_id}?format=json"),
    }


def median_ms(step: Callable[[], object], runs: int, clock=time.perf_counter) -> float:
    """Warm once, then the median of ``runs`` timings, in milliseconds.

    ``clock`` may be ``time.process_time``: on a shared machine the CPU time of
    this process is steadier than wall time, and for SQLite (in process) it is
    the query's whole cost; for PostgreSQL it leaves out the server's work."""
    step()
    timings = []
    for _ in range(runs):
        started = clock()
        step()
        timings.append((clock() - started) * 1000)
    return statistics.median(timings)


def measure(
    target: Target,
    runs: int,
    explain: bool = False,
    only: str = "",
    clock=time.perf_counter,
) -> dict[str, float]:
    """Median milliseconds of every measurement (whose name holds ``only``) on
    one database."""
    app = create_app({"DATABASE_URL": target.url, "SECRET_KEY": "bench"})
    engine = app.extensions["resonance.engine"]
    results: dict[str, float] = {}
    with app.app_context(), Session(engine) as session:
        steps = measurements(app, session)
        for name, step in steps.items():
            if only not in name:
                continue
            if explain:
                print_plans(session, name, step)
            results[name] = median_ms(step, runs, clock)
            session.rollback()  # no long-lived snapshot between measurements
    engine.dispose()
    return results


def print_plans(session: Session, name: str, step: Callable[[], object]) -> None:
    """Run ``step`` once, recording its statements, then print each one's plan."""
    engine = session.get_bind()
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        step()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE "
    print(f"### {name}")
    raw = session.connection().connection.driver_connection
    for statement, parameters in seen:
        cursor = raw.cursor()
        cursor.execute(prefix + statement, parameters)
        rows = cursor.fetchall()
        first = " ".join(statement.split())[:160]
        print(f"-- {first}")
        for row in rows:
            print("   ", row[-1] if sqlite else row[0])
    session.rollback()


def table(results: dict[Target, dict[str, float]]) -> str:
    """A Markdown table: one row per measurement, one column per database, and
    per store the ratio of its largest size to its smallest."""
    targets = list(results)
    stores = list(dict.fromkeys(t.store for t in targets))
    ratio_cols = []
    for store in stores:
        own = [t for t in targets if t.store == store]
        if len(own) > 1:
            ratio_cols.append((store, own[0], own[-1]))
    head = ["ms (median)"] + [f"{t.store} {t.size}" for t in targets]
    head += [f"{s} {last.size}/{first.size}" for s, first, last in ratio_cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in results[targets[0]]:
        cells = [name] + [f"{results[t][name]:.1f}" for t in targets]
        cells += [
            f"{results[last][name] / max(results[first][name], 0.001):.1f}×"
            for _, first, last in ratio_cols
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def row_counts(url: str) -> str:
    """Page views, clicks and page sections of a database (context for a table)."""
    from resonance.core.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        counts = [
            connection.scalar(text(f"SELECT count(*) FROM {name}"))
            for name in ("pageviews", "clicks", "page_sections", "leads")
        ]
    engine.dispose()
    return "{} page views, {} clicks, {} page sections, {} leads".format(*counts)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=parse_target, action="append", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="", help="measurements whose name has this")
    parser.add_argument(
        "--cpu", action="store_true", help="this process's CPU time, not wall time"
    )
    args = parser.parse_args(argv)
    results = {}
    for target in args.db:
        print(f"{target.store} {target.size}: {row_counts(target.url)}", flush=True)
        clock = time.process_time if args.cpu else time.perf_counter
        results[target] = measure(
            target, max(1, args.runs), args.explain, args.only, clock
        )
    report = table(results)
    print(report)
    return report


if __name__ == "__main__":
    main()
