"""The benchmark's printed report: a line saying what ran, the column heads, a
row per store and run, and the medians of repeated rows.

bench/README.md and bench/RESULTS.md quote these lines and
tests/test_bench_ingest.py reads the rows by position: the layout is kept
here, in one place, and changes only with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass

from bench.ingest_servers import Served
from resonance.cli.serving import STORED_BY

EVENTS_PER_BATCH = 7  # pv + 3 clicks + scroll + layout + attention (ingest.lua)
DRAIN_SAYS = {
    "auto": "as resonance serve (a drain process on PostgreSQL, the workers on SQLite)",
    **STORED_BY,
    "after": "a drain process started once wrk stopped",
}


@dataclass(frozen=True)
class Row:
    """One store's figures: the real app's, the bare app's baseline, and what
    the database held afterwards."""

    store: str
    real: Served
    bare_rps: float
    bare_cpu_ms: float
    sustained: float
    drain: str
    counts: tuple[int, int, int]  # page views, clicks, sections
    exact: bool


def settings_line(args: argparse.Namespace) -> str:
    """What ran: cores, gunicorn, wrk and who stores the inbox."""
    return (
        f"{os.cpu_count()} cores; {args.instances} instance(s) of gunicorn "
        f"{args.workers} × {args.worker_class} ({args.threads} threads); "
        f"wrk {args.connections} connections per instance, {args.duration:g} s; "
        f"{EVENTS_PER_BATCH} events per batch"
        + f"; inbox stored by: {DRAIN_SAYS[args.drain]}"
        + (f"; gunicorn pinned to CPU {args.pin_cpus}" if args.pin_cpus else "")
        + ("; a socket per worker (--reuse-port)" if args.reuse_port else "")
    )


def heading_line() -> str:
    return (
        f"{'store':<10} {'req/s':>8} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'bare/s':>8} {'ratio':>6} {'RSS MB':>7} {'CPU ms':>7} "
        f"{'bare ms':>7} {'drain s':>7} {'sustained':>9} {'drain by':>8}  stored"
    )


def row_line(row: Row) -> str:
    run, real = row.real.run, row.real
    views, clicks, sections = row.counts
    return (
        f"{row.store:<10} {run.rps:>8.0f} {run.rps * EVENTS_PER_BATCH:>9.0f} "
        f"{run.p50_ms:>7.1f} {run.p99_ms:>7.1f} {run.errors:>6} "
        f"{row.bare_rps:>8.0f} {run.rps / row.bare_rps:>6.2f} "
        f"{real.rss_mb:>7.0f} {real.cpu_ms:>7.2f} {row.bare_cpu_ms:>7.2f} "
        f"{real.drain_s:>7.1f} {row.sustained:>9.2f} {row.drain:>8}  "
        f"{'exact' if row.exact else 'MISMATCH'} ({views} page views, {clicks} "
        f"clicks, {sections} sections for {real.acknowledged} acknowledged 204s)"
    )


def median_line(store: str, ratios: list[float], sustained: list[float]) -> str:
    """The medians of a store's repeated rows, with each run's ratio."""
    return (
        f"{store:<10} median of {len(ratios)}: ratio "
        f"{statistics.median(ratios):.2f} (runs "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f"), sustained {statistics.median(sustained):.2f}"
    )
