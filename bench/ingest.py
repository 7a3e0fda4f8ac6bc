"""Ingest benchmark: the real collector against a bare Flask app, side by side.

For each store (SQLite, PostgreSQL) it starts the real app under gunicorn on
127.0.0.1, drives ``POST /e`` with wrk using snippet-shaped batches (7 events, all
ids unique), then does the same against a bare Flask app that answers 204 and does
nothing, with identical gunicorn settings: that is the ceiling. It prints
requests/s, events/s, p50/p99 latency, errors, the ratio to the bare app, the
largest RSS of any gunicorn worker under load, the workers' CPU time per request
of both apps (``CPU ms`` and ``bare ms``), and checks that the rows stored equal
the 2xx responses times what each batch holds.

    python bench/ingest.py --duration 10
    python bench/ingest.py --duration 10 --instances 2 --stores postgresql

The real app runs as ``resonance serve`` runs it: on PostgreSQL its workers only
append and a ``resonance drain --follow`` process stores the inbox; on SQLite
the workers store it (``--drain workers|process`` chooses for both stores).

``--instances 2`` runs two app instances on two ports over one database, each
driven by its own wrk at the same time (and the bare app likewise): every event
must still be stored exactly once.

Loopback only, bounded in time. Absolute numbers are noisy on shared machines:
read the ratios, which are measured in the same run.

This module is the command line and one row per store; the servers under test
are started in ``ingest_servers``, wrk is run in ``ingest_wrk``, the workers'
memory and CPU are read in ``ingest_procs``, the database is prepared and the
exact check made in ``ingest_store``, and the lines are laid out in
``ingest_report``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_report import (  # noqa: E402
    Row,
    heading_line,
    median_line,
    row_line,
    settings_line,
)
from bench.ingest_servers import serve_and_drive  # noqa: E402
from bench.ingest_store import (  # noqa: E402, F401 - profile_ingest imports the URL
    POSTGRES_URL,
    expected,
    prepare,
    stored,
)
from resonance.cli.serving import (  # noqa: E402
    DRAIN_MODES,
    drain_mode,
    worker_environment,
)

BARE_APP = "bench.bare_app:app"
REAL_APP = "wsgi:app"


def measure(store: str, args: argparse.Namespace) -> tuple[float, float]:
    """One row for ``store``: the real app between two runs of the bare app (the
    baseline is their mean, so a machine that speeds up or slows down during the
    run biases the ratio less); returns the ratio and the sustained ratio."""
    tmp = Path(tempfile.mkdtemp(prefix="rs-bench-"))
    url, cleanup = prepare(store, tmp)
    try:
        env = {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            # wrk is one client sending thousands of beacons a second: the
            # collector's rate limit is raised so it is checked on every request
            # (its cost is measured) but never trips; "" measures without it.
            "RESONANCE_COLLECTOR_RATE_LIMIT": args.collector_limit,
        }
        # As `resonance serve` runs it unless --drain says otherwise: on
        # PostgreSQL the workers only append and a drain process stores.
        drain = args.drain if args.drain != "auto" else drain_mode("auto", url)
        env |= worker_environment("process" if drain == "after" else drain)
        before = serve_and_drive(BARE_APP, {}, args, tmp, "bare")
        real = serve_and_drive(REAL_APP, env, args, tmp, "real", url, drain)
        counts = stored(url)
        after = serve_and_drive(BARE_APP, {}, args, tmp, "bare")
        bare_rps = (before.run.rps + after.run.rps) / 2
        # Beacons stored per second from the first until the last was stored.
        sustained = real.acknowledged / (real.run.seconds + real.drain_s) / bare_rps
        row = Row(
            store=store,
            real=real,
            bare_rps=bare_rps,
            bare_cpu_ms=(before.cpu_ms + after.cpu_ms) / 2,
            sustained=sustained,
            drain=drain,
            counts=counts,
            exact=counts == expected(real.acknowledged),
        )
        print(row_line(row), flush=True)
        return real.run.rps / bare_rps, sustained
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def parser() -> argparse.ArgumentParser:
    """The command line bench/README.md documents."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="gunicorn --reuse-port for both apps: each worker listens on its own"
        " socket, so the kernel spreads wrk's connections over the workers",
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--collector-limit", default="1000000/second")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rows per store, then a line with their median ratios",
    )
    parser.add_argument(
        "--drain",
        choices=(*DRAIN_MODES, "after"),
        default="auto",
        help="who stores the inbox: auto (as resonance serve: a drain process on"
        " PostgreSQL, the workers on SQLite), workers, process, or after (workers"
        " only append; the drain process starts once wrk has stopped: what"
        " appending alone answers, the ceiling of process)",
    )
    parser.add_argument(
        "--drainer",
        dest="drain",
        action="store_const",
        const="process",
        help="the same as --drain process",
    )
    parser.add_argument(
        "--pin-cpus",
        default="",
        help="run both apps' gunicorn under taskset --cpu-list (e.g. 1)",
    )
    parser.add_argument(
        "--drain-after",
        dest="drain",
        action="store_const",
        const="after",
        help="the same as --drain after",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the PostgreSQL tables after the warm-up (as autovacuum would)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="app instances on their own ports over one database, driven at once",
    )
    return parser


def main() -> None:
    args = parser().parse_args()
    print(settings_line(args))
    print(heading_line())
    for store in args.stores.split(","):
        rows = [measure(store, args) for _ in range(args.repeat)]
        if args.repeat > 1:
            ratios, sustained = zip(*rows, strict=True)
            print(median_line(store, list(ratios), list(sustained)), flush=True)


if __name__ == "__main__":
    main()
