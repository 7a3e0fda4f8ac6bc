"""bench/dashboard.py runs every measurement on a small generated database of
either store and prints one table row per measurement."""

from __future__ import annotations

from bench.dashboard import main
from bench.generate import generate


def test_dashboard_benchmark_times_every_page_on_a_tiny_database(database_url):
    # One site: the one measured, so that its leads are there however few.
    generate(database_url, 800, seed=4, site_count=1, log=lambda _line: None)
    store = "postgresql" if database_url.startswith("postgresql") else "sqlite"

    report = main(["--db", f"{store}:tiny={database_url}", "--runs", "1"])

    lines = report.splitlines()
    assert lines[0] == f"| ms (median) | {store} tiny |"
    names = [line.split(" | ")[0].lstrip("| ") for line in lines[2:]]
    assert "content: JSON page" in names
    assert "prospect: JSON page" in names
    assert "content list: JSON page" in names
    for line in lines[2:]:
        assert float(line.split(" | ")[1].rstrip(" |")) > 0
