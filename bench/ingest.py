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
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resonance.cli.serving import (  # noqa: E402
    DRAIN_ARGV,
    DRAIN_MODES,
    STORED_BY,
    drain_mode,
    worker_environment,
)
from resonance.core.engine import upgrade  # noqa: E402
from resonance.core.models import Click, PageSection, PageView  # noqa: E402
from tracker.inbox import waiting  # noqa: E402
from tracker.sites import create_site  # noqa: E402

POSTGRES_URL = os.environ.get(
    "RESONANCE_BENCH_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
EVENTS_PER_BATCH = 7  # pv + 3 clicks + scroll + layout + attention (ingest.lua)
SITES = 4
DRAIN_SAYS = {
    "auto": "as resonance serve (a drain process on PostgreSQL, the workers on SQLite)",
    **STORED_BY,
    "after": "a drain process started once wrk stopped",
}


@dataclass(frozen=True)
class Run:
    """One wrk run's figures."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def ok(self) -> int:
        return self.requests - self.errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(app: str, port: int, args, env: dict, log: Path) -> subprocess.Popen:
    """Start gunicorn for ``app`` and wait until it answers.

    Both apps write an access log (same cost for both): the count of 204 lines is
    what the server acknowledged, including requests still in flight when wrk
    stopped, which wrk itself does not count.
    """
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
        "--access-logfile",
        str(log),
        "--access-logformat",
        "%(s)s",
    ]
    if args.reuse_port:  # a listening socket per worker: the kernel spreads connections
        cmd.append("--reuse-port")
    if args.pin_cpus:  # both apps alike: the worker's threads stay on these cores
        cmd = ["taskset", "--cpu-list", args.pin_cpus, *cmd]
    server = subprocess.Popen(cmd, cwd=ROOT, env=os.environ | env)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return server  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.05)
            continue
        return server
    server.kill()
    raise RuntimeError(f"{app} did not start")


def wrk(port: int, seconds: float, args) -> Run:
    """Drive ``POST /e`` with the snippet-shaped batches of ingest.lua."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(args.wrk_threads),
            "-c",
            str(args.connections),
            "-d",
            f"{int(seconds)}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "ingest.lua"),
            f"http://127.0.0.1:{port}/e",
            "--",
            uuid.uuid4().hex[:8],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1]))
    errors = sum(int(fields[k]) for k in fields if k.startswith("errors_"))
    return Run(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        errors=errors,
        p50_ms=int(fields["p50_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
    )


def prepare(store: str, tmp: Path) -> tuple[str, callable]:
    """A fresh migrated database with the bench sites; its URL and a cleanup."""
    if store == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        cleanup = lambda: None  # noqa: E731 - the temp dir goes
    else:
        schema = f"rs_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        for n in range(SITES):
            create_site(
                session,
                f"Bench {n}",
                origins=["*"],
                privacy_mode="always",
                key=f"bench{n}",
            )
        session.commit()
    engine.dispose()
    return url, cleanup


def stored(url: str) -> tuple[int, int, int]:
    """Rows that prove every event of every accepted batch: page views, clicks,
    sections (scroll and attention are state on those rows, checked below)."""
    engine = create_engine(url)
    with Session(engine) as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (PageView, Click, PageSection)
        )
        shallow = session.scalar(
            select(func.count())
            .select_from(PageView)
            .where((PageView.max_scroll_px != 3100) | (PageView.active_ms != 42000))
        )
    engine.dispose()
    if shallow:
        raise AssertionError(f"{shallow} page views lack their scroll or attention")
    return counts


def proc_stat(stat: Path) -> list[str] | None:
    """The fields of a ``/proc/<pid>/stat`` after the command name (field 3 of
    proc(5) first), or None once the process is gone."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def workers_of(server: subprocess.Popen) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = proc_stat(stat)
        if fields and int(fields[1]) == server.pid:
            pids.append(int(stat.parent.name))
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


class RssSampler(threading.Thread):
    """The largest RSS of any gunicorn worker, sampled while wrk runs."""

    def __init__(self, servers: list[subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.servers = servers
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for server in self.servers:
                for pid in workers_of(server):
                    self.peak = max(self.peak, rss_mb(pid))


def cpu_seconds(servers: list[subprocess.Popen]) -> float:
    """User + system CPU time so far of every gunicorn worker of ``servers``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for server in servers:
        for pid in workers_of(server):
            if fields := proc_stat(Path(f"/proc/{pid}/stat")):
                utime, stime = fields[11:13]
                total += (int(utime) + int(stime)) / ticks
    return total


@dataclass(frozen=True)
class Served:
    """What one app did under load: wrk's figures, 204s logged, peak worker RSS,
    and the workers' CPU time per request (the figure that says where a
    CPU-bound server's throughput goes)."""

    run: Run
    acknowledged: int
    rss_mb: float
    cpu_ms: float
    drain_s: float = 0.0  # after wrk stopped, until the inbox was empty


def wait_answered(logs: list[Path], quiet_s: float = 0.25) -> None:
    """Until the servers have answered every request wrk left in flight: their
    access logs have not grown for ``quiet_s``. (A beacon is committed before it
    is answered; one still on its way when the inbox is first seen empty would
    otherwise be missed by the count, and left in the inbox.)"""
    sizes = None
    while True:
        now = [log.stat().st_size if log.exists() else 0 for log in logs]
        if now == sizes:
            return
        sizes = now
        time.sleep(quiet_s)


def analyze(url: str) -> None:
    """Statistics for the tables the warm-up filled (PostgreSQL), as autovacuum
    keeps them on a live installation: on a schema created seconds before, plans
    cached while a table was nearly empty scan it as it grows."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def wait_drained(url: str, start: float, timeout: float = 900) -> float:
    """Seconds from ``start`` (time.monotonic(), when wrk stopped) until the
    collectors have stored every beacon they committed to the inbox (they do it
    themselves once the load stops); fails on a beacon set aside, which would be
    an event accepted and not stored."""
    engine = create_engine(url)
    try:
        while True:
            with Session(engine) as session:
                left = waiting(session)
            if left.refused:
                raise AssertionError(f"{left.refused} beacons could not be stored")
            if not left.beacons:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{left.beacons} beacons still waiting")
            time.sleep(0.05)
    finally:
        engine.dispose()


def start_drainer(env: dict) -> subprocess.Popen:
    """A ``resonance drain --follow`` process over the real app's database."""
    return subprocess.Popen(
        DRAIN_ARGV, cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL
    )


def serve_and_drive(
    app: str,
    env: dict,
    args,
    tmp: Path,
    label: str,
    url: str | None = None,
    drain: str = "workers",
) -> Served:
    """Start ``args.instances`` gunicorns of ``app`` on their own ports, drive them
    all at once (one wrk each), wait until they have stored what waits in the
    inbox of ``url`` (the real app), and stop them. ``drain``: who stores the
    inbox (``workers``, a ``process`` beside them, or one started ``after`` wrk)."""
    ports = [free_port() for _ in range(args.instances)]
    logs = [tmp / f"{label}-{n}.log" for n in range(args.instances)]
    servers = [
        gunicorn(app, port, args, env, log)
        for port, log in zip(ports, logs, strict=True)
    ]
    drainer = None
    if url and drain == "process":  # one, like a queue worker
        drainer = start_drainer(env)
    sampler = RssSampler(servers)
    try:
        with ThreadPoolExecutor(len(ports)) as pool:
            list(pool.map(lambda port: wrk(port, 1, args), ports))  # warm-up
            if url and args.analyze:
                analyze(url)
            sampler.start()
            cpu_before = cpu_seconds(servers)
            runs = list(pool.map(lambda port: wrk(port, args.duration, args), ports))
            cpu = cpu_seconds(servers) - cpu_before
        stopped = time.monotonic()
        wait_answered(logs)
        if url and drain == "after":
            drainer = start_drainer(env)
        drain_s = wait_drained(url, stopped) if url else 0.0
    finally:
        sampler.stop.set()
        if drainer is not None:
            drainer.terminate()
            drainer.wait()
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    acknowledged = sum(log.read_text().split().count("204") for log in logs)
    run = Run(
        requests=sum(r.requests for r in runs),
        seconds=max(r.seconds for r in runs),
        errors=sum(r.errors for r in runs),
        p50_ms=max(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
    )
    cpu_ms = 1000 * cpu / max(1, run.requests)
    return Served(run, acknowledged, sampler.peak, cpu_ms, drain_s)


def measure(store: str, args) -> tuple[float, float]:
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
        before = serve_and_drive("bench.bare_app:app", {}, args, tmp, "bare")
        real = serve_and_drive("wsgi:app", env, args, tmp, "real", url, drain)
        views, clicks, sections = stored(url)
        after = serve_and_drive("bench.bare_app:app", {}, args, tmp, "bare")
        bare_rps = (before.run.rps + after.run.rps) / 2
        bare_cpu_ms = (before.cpu_ms + after.cpu_ms) / 2
        run, acknowledged = real.run, real.acknowledged
        expected = (acknowledged, 3 * acknowledged, 3 * acknowledged)
        # Beacons stored per second from the first until the last was stored.
        sustained = acknowledged / (run.seconds + real.drain_s) / bare_rps
        exact = (views, clicks, sections) == expected
        print(
            f"{store:<10} {run.rps:>8.0f} {run.rps * EVENTS_PER_BATCH:>9.0f} "
            f"{run.p50_ms:>7.1f} {run.p99_ms:>7.1f} {run.errors:>6} "
            f"{bare_rps:>8.0f} {run.rps / bare_rps:>6.2f} "
            f"{real.rss_mb:>7.0f} {real.cpu_ms:>7.2f} {bare_cpu_ms:>7.2f} "
            f"{real.drain_s:>7.1f} {sustained:>9.2f} {drain:>8}  "
            f"{'exact' if exact else 'MISMATCH'} ({views} page views, {clicks} clicks, "
            f"{sections} sections for {acknowledged} acknowledged 204s)",
            flush=True,
        )
        return run.rps / bare_rps, sustained
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
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
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores; {args.instances} instance(s) of gunicorn "
        f"{args.workers} × {args.worker_class} ({args.threads} threads); "
        f"wrk {args.connections} connections per instance, {args.duration:g} s; "
        f"{EVENTS_PER_BATCH} events per batch"
        + f"; inbox stored by: {DRAIN_SAYS[args.drain]}"
        + (f"; gunicorn pinned to CPU {args.pin_cpus}" if args.pin_cpus else "")
        + ("; a socket per worker (--reuse-port)" if args.reuse_port else "")
    )
    print(
        f"{'store':<10} {'req/s':>8} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'bare/s':>8} {'ratio':>6} {'RSS MB':>7} {'CPU ms':>7} "
        f"{'bare ms':>7} {'drain s':>7} {'sustained':>9} {'drain by':>8}  stored"
    )
    for store in args.stores.split(","):
        rows = [measure(store, args) for _ in range(args.repeat)]
        if args.repeat > 1:
            ratios, sustained = zip(*rows, strict=True)
            print(
                f"{store:<10} median of {args.repeat}: ratio "
                f"{statistics.median(ratios):.2f} (runs "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + f"), sustained {statistics.median(sustained):.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
