"""scripts/screenshots.py makes the docs' pictures from the real app: a small
run (few demo visitors, two pages, one width) in real Chromium."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.browser


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_screenshot_script_shoots_the_pages_it_is_asked_for(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "screenshots.py"),
            "--out",
            str(tmp_path),
            "--pages",
            "overview,not-found",
            "--widths",
            "768",
            "--visitors",
            "4",
            "--days",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert shots == ["not-found-768.png", "overview-768.png"]
    width, height = _png_size(tmp_path / "overview-768.png")
    assert width == 768 and 400 < height <= 1800
    assert "demo traffic: " in result.stderr  # the seeding's progress


def test_screenshot_script_refuses_an_unknown_page(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--pages", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2 and "unknown pages ['nope']" in result.stderr
