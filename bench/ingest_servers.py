"""The servers under test: gunicorn instances of one app (and, for the real app,
a drain process), driven at once by one wrk each, then stopped.

Both apps are started by the same function with the same settings, so that the
only difference between the real app's figures and the bare app's is the app.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.ingest_procs import RssSampler, cpu_seconds
from bench.ingest_store import analyze, wait_drained
from bench.ingest_wrk import Run, combined, wrk
from resonance.cli.serving import DRAIN_ARGV

ROOT = Path(__file__).resolve().parent.parent


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_argv(
    app: str, port: int, args: argparse.Namespace, log: Path
) -> list[str]:
    """The command line of gunicorn for ``app``, the same for both apps.

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
    return cmd


def gunicorn(
    app: str, port: int, args: argparse.Namespace, env: dict, log: Path
) -> subprocess.Popen:
    """Start gunicorn for ``app`` and wait until it answers."""
    cmd = gunicorn_argv(app, port, args, log)
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


def start_drainer(env: dict) -> subprocess.Popen:
    """A ``resonance drain --follow`` process over the real app's database."""
    return subprocess.Popen(
        DRAIN_ARGV, cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL
    )


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


def serve_and_drive(
    app: str,
    env: dict,
    args: argparse.Namespace,
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
        stop(drainer, servers)
    acknowledged = sum(log.read_text().split().count("204") for log in logs)
    run = combined(runs)
    cpu_ms = 1000 * cpu / max(1, run.requests)
    return Served(run, acknowledged, sampler.peak, cpu_ms, drain_s)


def stop(drainer: subprocess.Popen | None, servers: list[subprocess.Popen]) -> None:
    """Stop the drain process, then every gunicorn (all signalled before any is
    waited for, so that they wind down together)."""
    if drainer is not None:
        drainer.terminate()
        drainer.wait()
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait()
