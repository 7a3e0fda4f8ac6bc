"""Each dashboard figure's cost: building it and making the page's payload of it.

    python bench/figures.py                    # the demo's size and a busy page
    python bench/figures.py --bins 400 --runs 51

Two paths per figure, on the same inputs in the same run, alternating:

- **dashboard**: what a page does, ``figure_payload(builder(...))``.
- **validated**: the baseline, ``builder(...)`` then ``go.Figure`` of it (Plotly's
  validation and object model) and Plotly's own JSON of it, as the builders'
  figures went to the page before they made plain dicts. Built from the plain
  dict in one constructor call, it leaves out the cost of ``make_subplots`` and
  the ``update_*`` calls the former builders made, so it understates them: a
  floor. The former builders themselves, run as the dashboard path of this
  script on 2026-12-07 (commit 8d82a1d, 11 runs, a loaded 2-core machine), took
  161 ms of CPU for the six figures at 400 squares (heatmap 40, compare 67,
  depth 29, attention 8.7, trend 4.1, influence 11.6) and 853 ms at 20,000.

Inputs are a content page's, synthetic and deterministic: a 1,440 × 2,929 px
snapshot (the demo's busiest page at 1,440 px), ``--bins`` clicked 8 px squares
with element names (that page has about 400; a page with a year of clicks tens
of thousands), 100 px scroll and depth bands, 8 sections, 30 days, 15 influence
bars. Prints the median wall and CPU (``time.process_time``) ms of ``--runs``
runs of each path, and the ratio validated / dashboard of CPU medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and would shadow
# the ``dashboard`` package: the project root goes first instead.
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

import plotly.graph_objects as go  # noqa: E402

from dashboard import figures  # noqa: E402
from dashboard.figures.payload import CONFIG  # noqa: E402
from dashboard.queries.attention import SectionRow  # noqa: E402
from dashboard.queries.clicks import GridBin  # noqa: E402
from dashboard.queries.depth import DepthBand  # noqa: E402
from dashboard.queries.scroll import ScrollBand  # noqa: E402
from dashboard.queries.trend import TrendDay  # noqa: E402

WIDTH, HEIGHT = 1440, 2929
SHOT = figures.Backdrop(WIDTH, HEIGHT, image_url="/dash/sites/demo/snapshots/1.png")


def clicked(count: int, seed: int = 0) -> list[GridBin]:
    """``count`` distinct clicked squares spread over the page, with names."""
    cols, rows = WIDTH // 8, HEIGHT // 8
    cells = sorted({(i * 7919 + seed) % (cols * rows) for i in range(count * 2)})
    return [
        GridBin(
            cell % cols * 8,
            cell // cols * 8,
            1 + i % 9,
            1 + i % 4,
            f"#main > section:nth-of-type({i % 12}) > a",
            f"Read more {i % 40}",
        )
        for i, cell in enumerate(cells[:count])
    ]


def inputs(bins: int) -> dict[str, Callable[[], Any]]:
    """Each figure of a content page (and influence), as a call on fixed rows."""
    a, b = clicked(bins), clicked(bins * 2 // 3, seed=13)
    reach = figures.ReachOverlay(
        bands=[
            ScrollBand(top, 100, 400 - top // 10, round(100 - top / 30, 1))
            for top in range(0, HEIGHT, 100)
        ],
        marks={75: 700, 50: 1400, 25: 2100},
        fold_px=820,
    )
    depth = [
        DepthBand(top, 100, round(8 - top / 400, 2)) for top in range(0, 2900, 100)
    ]
    sections = [
        SectionRow(
            heading=f"Section {i}",
            level=1 + i % 3,
            top_px=300 * i,
            height_px=300,
            views=40,
            total_active_s=200.0,
            avg_active_s=5.0 + i,
            reached_pct=90.0 - i,
            left_pct=3.0,
            expected_s=4.0 if i % 2 else None,
            held_longer=i == 2,
            readers_stop=i == 5,
        )
        for i in range(8)
    ]
    days = [
        TrendDay(f"2026-11-{d:02d}", 20 + d, 15 + d, 30.0, 41.5) for d in range(1, 31)
    ]
    bars = [
        figures.AttributionBar(
            f"A post about topic {i}", f"https://x.test/{i}", 15 - i, i, 7.5
        )
        for i in range(15)
    ]
    return {
        "heatmap": lambda: figures.heatmap_figure(a, SHOT, reach, 8),
        "compare": lambda: figures.compare_figure(
            a, 300, b, 120, SHOT, ("sales", "not:sales"), 8, reached_stage="sql"
        ),
        "depth": lambda: figures.depth_figure(depth, SHOT, 300),
        "attention": lambda: figures.attention_figure(sections),
        "trend": lambda: figures.trend_figure(days),
        "influence": lambda: figures.influence_figure(bars),
    }


def dashboard_path(build: Callable[[], Any]) -> dict:
    """What a page does: the plain figure and its payload."""
    return figures.figure_payload(build())


def validated_path(build: Callable[[], Any]) -> dict:
    """The baseline: the figure through Plotly's validation, object model and
    JSON, as the builders' ``go.Figure`` went to the page before."""
    payload = json.loads(go.Figure(build()).to_json())
    return {"data": payload["data"], "layout": payload["layout"], "config": CONFIG}


PATHS = {"dashboard": dashboard_path, "validated": validated_path}


def measure(build: Callable[[], Any], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) of each path, the paths taking turns, after one
    warm-up run of each."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in PATHS}
    for path in PATHS.values():
        path(build)
    for _ in range(runs):
        for name, path in PATHS.items():
            wall, cpu = time.perf_counter(), time.process_time()
            path(build)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            samples[name].append((wall * 1000, cpu * 1000))
    return {
        name: (
            statistics.median(w for w, _ in times),
            statistics.median(c for _, c in times),
        )
        for name, times in samples.items()
    }


def table(bins: int, runs: int) -> list[str]:
    """One line per figure and their sum, for ``bins`` clicked squares."""
    lines = [
        f"# {bins} clicked squares, median of {runs} runs",
        f"{'figure':10} {'dashboard wall/cpu ms':>22}  {'validated wall/cpu ms':>22}"
        f"  {'cpu ratio':>9}",
    ]
    cpu_total = {name: 0.0 for name in PATHS}
    for figure, build in inputs(bins).items():
        medians = measure(build, runs)
        (dw, dc), (vw, vc) = medians["dashboard"], medians["validated"]
        cpu_total["dashboard"] += dc
        cpu_total["validated"] += vc
        lines.append(
            f"{figure:10} {dw:11.2f} {dc:10.2f}  {vw:11.2f} {vc:10.2f}  {vc / dc:8.1f}×"
        )
    dc, vc = cpu_total["dashboard"], cpu_total["validated"]
    lines.append(
        f"{'all (cpu)':10} {'':11} {dc:10.2f}  {'':11} {vc:10.2f}  {vc / dc:8.1f}×"
    )
    return lines


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bins",
        type=int,
        nargs="+",
        default=[400, 20000],
        help="clicked squares of the heatmap and comparison",
    )
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    output = "\n".join(line for bins in args.bins for line in table(bins, args.runs))
    print(output)
    return output


if __name__ == "__main__":
    main()
