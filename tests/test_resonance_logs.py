"""``resonance serve --log-format json`` (resonance/cli/logs.py): everything the
command and its processes print is one JSON object per line, gunicorn's access
and error logs and the app's own loggers alike, and no line carries the
client's address."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from resonance.cli.logs import JsonFormatter
from resonance.core.models import PageView, Site
from tests.conftest import BROWSER_UA, ORIGIN
from tests.factories import batch, pv
from tests.servers import free_port, wait_until

FIELDS = {"timestamp", "level", "logger", "message"}
ACCESS_FIELDS = {"method", "path", "status", "duration", "bytes"}


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=1)
    except OSError:
        return False
    return True


def _post_beacon(base: str) -> int:
    request = urllib.request.Request(
        f"{base}/e",
        data=json.dumps(batch(pv())).encode(),
        headers={"Origin": ORIGIN, "User-Agent": BROWSER_UA},
    )
    with urllib.request.urlopen(request, timeout=20) as answer:
        return answer.status


def _page_views(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(PageView))
    finally:
        engine.dispose()


def _serve_json(database_url: str, tmp_path: Path) -> list[str]:
    """Run ``resonance serve --log-format json``, make requests, stop it; the
    lines it printed (stdout and stderr)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "serve-test",
        # The rate limit's store is away: the app logs a warning of its own.
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    argv = [sys.executable, "-c", "from resonance.cli import cli; cli()", "serve"]
    argv += ["--no-demo", "--bind", f"127.0.0.1:{port}", "--threads", "4"]
    argv += ["--log-format", "json"]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        wait_until(lambda: _answers(base), seconds=60)
        assert _post_beacon(base) == 204
        wait_until(lambda: "resonance.core.limits" in log.read_text(), seconds=20)
        # Stored: on PostgreSQL by the drain process, which is then past its
        # start-up (a SIGTERM before it set its handlers would end it silently).
        wait_until(lambda: _page_views(database_url) > 0, seconds=30)
    finally:
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=60)
    assert returncode == 0, log.read_text()[-3000:]
    return log.read_text().splitlines()


def test_serve_with_json_logs_prints_only_json_lines_with_the_fields(
    database_url: str, site: Site, tmp_path: Path
):
    lines = _serve_json(database_url, tmp_path)

    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not JSON: {line!r}")
    for record in records:
        assert FIELDS <= record.keys(), record
        moment = datetime.fromisoformat(record["timestamp"])
        assert moment.utcoffset() == timedelta(0), record
        assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)

    loggers = {record["logger"] for record in records}
    assert {"resonance.serve", "gunicorn.error", "resonance.core.limits"} <= loggers
    if database_url.startswith("postgresql"):
        assert "resonance.drain" in loggers  # its "stopped", once stopped
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    [beacon] = [r for r in access if (r["method"], r["path"]) == ("POST", "/e")]
    assert beacon["status"] == 204 and beacon["bytes"] == 0
    assert ACCESS_FIELDS <= beacon.keys()
    assert 0 < beacon["duration"] < 20
    health = [r for r in access if r["path"] == "/healthz" and r["status"] == 200]
    assert health and health[0]["bytes"] > 0
    for record in access:
        assert "127.0.0.1" not in json.dumps(record), record


def test_a_logged_exception_keeps_its_traceback_in_one_line():
    try:
        raise RuntimeError("the database is on fire")
    except RuntimeError:
        record = logging.makeLogRecord(
            {
                "name": "resonance.test",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "msg": "storing a beacon failed",
                "exc_info": sys.exc_info(),
            }
        )

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "storing a beacon failed"
    assert entry["timestamp"].endswith("Z")
    assert "RuntimeError: the database is on fire" in entry["exception"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorn_run_as_the_systemd_unit_runs_it_logs_no_client_address(
    tmp_path: Path, log_format: str
):
    """docs/deploy/resonance.service starts gunicorn itself with the package's
    config module: its access log keeps the same privacy as ``resonance serve``
    (gunicorn's default format starts with the client's address)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unit.db'}",
        "SECRET_KEY": "unit-test",
        "RESONANCE_LOG_FORMAT": log_format,
    }
    subprocess.run(
        [sys.executable, "-c", "from resonance.cli import cli; cli()", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    argv = [sys.executable, "-m", "gunicorn", "resonance.wsgi:app"]
    argv += ["--config", "python:resonance.cli.gunicorn_conf"]
    argv += ["--bind", f"127.0.0.1:{port}", "--access-logfile", "-"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        wait_until(lambda: _answers(base), seconds=60)
        wait_until(lambda: "/healthz" in log.read_text(), seconds=10)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    access = [line for line in log.read_text().splitlines() if "/healthz" in line]
    assert access, log.read_text()[-2000:]
    assert not any("127.0.0.1" in line for line in access), access
