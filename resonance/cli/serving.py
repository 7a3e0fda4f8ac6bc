"""How ``resonance serve`` runs the collector: gunicorn, and on PostgreSQL a drain
process beside it.

Owns: choosing where the inbox is stored (``drain_mode``), the environment that
tells the workers so, gunicorn's command line, and supervising gunicorn with a
``resonance drain --follow`` child (started first, restarted if it dies,
stopped with gunicorn).

Why two processes on PostgreSQL: a gunicorn worker is one GIL, and storing the
inbox inside it takes CPU from answering beacons while a second core sits idle;
a drain process does that work on the other core. SQLite has one writer: a
drain process would hold the lock the workers' appends need, so there the
workers store the inbox themselves (``tracker.writer``). The measurements:
bench/RESULTS.md, "``resonance serve`` runs a drain process on PostgreSQL".
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence

DRAIN_MODES = ("auto", "workers", "process")
STORED_BY = {"workers": "the workers", "process": "a drain process beside the workers"}
RESTART_AFTER_S = 1.0  # a drain process that died is started again after this
# The children's command lines run this interpreter's packages, whether or not
# its virtual environment is activated (its scripts on PATH), from any folder:
# gunicorn imports the app from the package, not from a checkout's wsgi.py.
# The configuration module holds what gunicorn takes from nowhere else: the
# metrics' clean-up when a worker exits, the JSON logs.
GUNICORN_ARGV = [sys.executable, "-m", "gunicorn", "resonance.wsgi:app"]
GUNICORN_ARGV += ["--config", "python:resonance.cli.gunicorn_conf"]
# The drain process logs as the environment says (RESONANCE_LOG_FORMAT), as
# `resonance drain --follow` does under systemd.
DRAIN_ARGV = [sys.executable, "-c", "from resonance.cli import cli; cli()"]
DRAIN_ARGV += ["drain", "--follow"]


def drain_mode(choice: str, database_url: str) -> str:
    """``workers`` or ``process``: ``auto`` picks a drain process on PostgreSQL
    and the workers on SQLite (one writer)."""
    if choice not in DRAIN_MODES:
        raise ValueError(f"drain mode {choice!r} is not one of {DRAIN_MODES}")
    if choice != "auto":
        return choice
    return "workers" if database_url.startswith("sqlite") else "process"


def worker_environment(mode: str) -> dict[str, str]:
    """What gunicorn's workers need to know about ``mode``: with a drain process
    they append every group to the inbox and never store it themselves."""
    if mode == "process":
        return {
            "RESONANCE_DRAIN_IN_WORKERS": "false",
            "RESONANCE_INBOX_FROM_GROUP": "1",
        }
    return {}


def run(server: Sequence[str], env: dict[str, str], drain_process: bool) -> int:
    """Run ``server`` (gunicorn's argv) until it exits; with ``drain_process``,
    a drain process beside it for as long. Returns gunicorn's exit status.

    SIGINT and SIGTERM go to both; the drain process finishes the chunk it is
    storing (``resonance drain --follow`` stops between chunks).
    """
    drainer = subprocess.Popen(DRAIN_ARGV, env=env) if drain_process else None
    gunicorn = subprocess.Popen(list(server), env=env)
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in (gunicorn, drainer):
            if child is not None and child.poll() is None:
                child.send_signal(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while gunicorn.poll() is None:
            if drainer is not None and drainer.poll() is not None and not stopping:
                print(
                    f"the drain process exited ({drainer.returncode}); restarting",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(RESTART_AFTER_S)
                drainer = subprocess.Popen(DRAIN_ARGV, env=env)
            time.sleep(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if drainer is not None:
            if drainer.poll() is None:
                drainer.terminate()
            drainer.wait()
    return gunicorn.returncode
