"""bench/summaries_read.py times every summarised figure through the summaries
and from the raw events on a generated database of either store, and stops if
the two ever differ."""

from __future__ import annotations

from bench.generate import generate
from bench.summaries_read import FIGURES, SITE_FIGURES, main


def test_summaries_benchmark_times_each_figure_both_ways_and_they_agree(
    database_url, capsys
):
    generate(database_url, 1_500, seed=5, site_count=1, log=lambda _line: None)

    main([database_url, "--runs", "1"])

    lines = capsys.readouterr().out.splitlines()
    rows = [line.split(" | ") for line in lines if line.count(" | ") == 6]
    timed = {(row[0], row[1]) for row in rows[1:]}
    for name in (*FIGURES, *SITE_FIGURES):
        assert (name, "all time, all") in timed
    assert ("content_list", "all time, reached sales") in timed
    assert ("site_summaries", "30 days, all") not in timed  # no filters there
    for row in rows[1:]:
        assert all(float(cell) >= 0 for cell in row[2:6])
        assert row[6].endswith("×")
