"""bench/figures.py times each figure two ways that must give the page the same
JSON, or its ratio would compare unlike work."""

from __future__ import annotations

import pytest

from bench.figures import dashboard_path, inputs, main, validated_path

FIGURES = ("heatmap", "compare", "depth", "attention", "trend", "influence")


@pytest.mark.parametrize("figure", FIGURES)
def test_both_timed_paths_give_the_page_the_same_figure(figure):
    build = inputs(12)[figure]

    assert dashboard_path(build) == validated_path(build)


def test_the_report_has_a_line_per_figure_and_their_sum_for_each_size():
    output = main(["--bins", "5", "12", "--runs", "1"])

    lines = output.splitlines()
    assert [line for line in lines if line.startswith("#")] == [
        "# 5 clicked squares, median of 1 runs",
        "# 12 clicked squares, median of 1 runs",
    ]
    for figure in (*FIGURES, "all (cpu)"):
        assert sum(line.startswith(figure) for line in lines) == 2
