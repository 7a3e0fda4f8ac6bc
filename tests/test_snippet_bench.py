"""A very short run of the snippet benchmark (bench/snippet.py): it starts the
app, drives both sessions in Chromium and reports figures that add up. Timings
are the benchmark's business, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent


def test_snippet_benchmark_runs_and_reports_both_sessions(tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")
    # Its own process: one process drives one sync Playwright at a time.
    done = subprocess.run(
        [
            sys.executable,
            "bench/snippet.py",
            "--duration",
            "1.5",
            "--rounds",
            "1",
            "--json",
        ],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    baseline, snippet = result["summary"]["baseline"], result["summary"]["snippet"]
    assert baseline["load_snippet_ms"] == baseline["activity_snippet_ms"] == 0
    assert snippet["load_snippet_ms"] > 0  # the snippet ran, and was seen running
    assert 0 <= snippet["activity_snippet_ms"] <= snippet["activity_busy_ms"]
    assert result["stored"]["page_views"] == 1  # only the tracked session reports
    assert set(result["gzip_bytes"]) == {"r.js", "r2.js"}
