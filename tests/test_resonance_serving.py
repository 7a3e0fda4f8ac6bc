"""``resonance serve``: gunicorn, and on PostgreSQL a drain process beside it
that stores what the workers append (resonance/cli/serving.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from resonance.cli.serving import drain_mode, worker_environment
from resonance.core.models import PageView
from tests.conftest import BROWSER_UA, ORIGIN, count
from tests.factories import batch, pv
from tests.servers import free_port, wait_until


@pytest.mark.parametrize(
    ("choice", "url", "mode"),
    [
        ("auto", "sqlite:///resonance.db", "workers"),
        ("auto", "postgresql+psycopg://127.0.0.1/test", "process"),
        ("workers", "postgresql+psycopg://127.0.0.1/test", "workers"),
        ("process", "sqlite:///resonance.db", "process"),
    ],
)
def test_the_inbox_is_drained_by_a_process_on_postgresql_and_by_workers_on_sqlite(
    choice, url, mode
):
    assert drain_mode(choice, url) == mode


def test_workers_beside_a_drain_process_append_everything_and_never_drain():
    assert worker_environment("process") == {
        "RESONANCE_DRAIN_IN_WORKERS": "false",
        "RESONANCE_INBOX_FROM_GROUP": "1",
    }
    assert worker_environment("workers") == {}
    with pytest.raises(ValueError, match="drain mode"):
        drain_mode("threads", "sqlite://")


def _post(base: str, page_view_id: str) -> int:
    body = json.dumps(batch(pv(page_view_id))).encode()
    request = urllib.request.Request(
        f"{base}/e",
        data=body,
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": ORIGIN,
            "User-Agent": BROWSER_UA,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def _drainers(pid: int) -> list[int]:
    """The pids of ``pid``'s children running ``resonance drain --follow``."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in children:
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # it ended meanwhile
        if b"drain" in argv and b"--follow" in argv:
            found.append(int(child))
    return found


def test_serve_stores_beacons_through_its_drain_process_and_restarts_it(
    database_url: str, site, session: Session, tmp_path
):
    """The real command on the test database: a beacon answered 204 is stored;
    on PostgreSQL by the drain process, which is started again if it dies; and
    SIGTERM stops everything it started."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "serve-test",
        "RESONANCE_COLLECTOR_RATE_LIMIT": "",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from resonance.cli import cli; cli()"]
        + ["serve", "--no-demo", "--bind", f"127.0.0.1:{port}", "--threads", "4"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_until(lambda: _answers(base), seconds=60)
        assert _post(base, "pvserved0001") == 204
        wait_until(lambda: count(session, PageView) == 1, seconds=20)

        drainers = _drainers(server.pid)
        if database_url.startswith("sqlite"):
            assert drainers == []
        else:
            assert len(drainers) == 1
            os.kill(drainers[0], signal.SIGKILL)
            wait_until(lambda: _drainers(server.pid) not in ([], drainers), seconds=20)
            assert _post(base, "pvserved0002") == 204
            wait_until(lambda: count(session, PageView) == 2, seconds=20)
    finally:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        started = children.read_text().split() if server.poll() is None else []
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=60)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert returncode == 0, output[-3000:]
    stored_by = "a drain process" if "postgresql" in database_url else "the workers"
    assert f"beacons stored by: {stored_by}" in output
    assert started and not any(Path(f"/proc/{pid}").exists() for pid in started)


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/r.js", timeout=1)
    except OSError:
        return False
    return True
