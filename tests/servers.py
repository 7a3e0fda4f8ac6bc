"""A real gunicorn serving ``wsgi:app``, for tests that need a live server.

Shared by the ``live_server`` fixture and the fault tests, which also need the
master's and workers' process ids to signal them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tests post far faster than browsers; the collector's rate limit itself is
# proven in test_rate_limits.py with apps of its own.
NO_COLLECTOR_LIMIT = "100000/second"


@dataclass
class Gunicorn:
    """A running gunicorn: its base URL, master process and log file."""

    base: str
    process: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        """The process ids of the master's current workers."""
        out = subprocess.run(
            ["ps", "--ppid", str(self.process.pid), "-o", "pid="],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [int(pid) for pid in out.split()]

    def busiest_worker(self) -> int:
        """The worker holding the most sockets: the one serving connections."""
        return max(self.workers(), key=_sockets)

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)


def _sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd) for fd in fds.iterdir()]
    except OSError:  # the process just ended
        return -1
    return sum(link.startswith("socket:") for link in links)


def wait_until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Poll ``check`` until it is true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.02)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    database_url: str,
    log: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    settings: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """Start gunicorn over ``database_url``, wait for /healthz, stop it at exit.

    ``settings`` are extra environment variables (``RESONANCE_…`` config). The
    collector's rate limit is lifted (see :data:`NO_COLLECTOR_LIMIT`)."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "RESONANCE_DEMO_SITE_KEY": "demo",
        "RESONANCE_COLLECTOR_RATE_LIMIT": NO_COLLECTOR_LIMIT,
        **(settings or {}),
    }
    argv = [sys.executable, "-m", "gunicorn", "wsgi:app"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    argv += ["--worker-class", "gthread", "--threads", str(threads)]
    argv += ["--access-logfile", "-"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if os.environ.get("RESONANCE_SHOW_SERVER_LOG"):
            print(log.read_text())


def _wait_healthy(server: Gunicorn) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=1):
                return
        except OSError:
            if server.process.poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start:\n" + server.log.read_text())
