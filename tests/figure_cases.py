"""Inputs for every figure the dashboard draws, as the queries hand them in:
empty ones, small ones, ones with markup from browsers, and pages narrow, wide
and taller than the figures draw.

Shared by the tests that prove each figure a valid Plotly figure equal to what
the former ``graph_objects`` builders produced (``fixtures/figures_before.json``,
recorded from them) and by ``bench/figures.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard import figures
from dashboard.queries.attention import SectionRow
from dashboard.queries.clicks import GridBin
from dashboard.queries.depth import DepthBand
from dashboard.queries.scroll import ScrollBand
from dashboard.queries.trend import TrendDay

HOSTILE = "<img src=x onerror=alert(1)>"
LONG = "A heading long enough to be cut short before it pushes the plot aside"


def _section(heading: str, level: int, avg: float, expected: float | None, **kw):
    return SectionRow(
        heading=heading,
        level=level,
        top_px=0,
        height_px=400,
        views=10,
        total_active_s=avg * 10,
        avg_active_s=avg,
        reached_pct=kw.get("reached", 100.0),
        left_pct=kw.get("left", 0.0),
        expected_s=expected,
        held_longer=kw.get("held", False),
        readers_stop=kw.get("stop", False),
    )


def _days(count: int, views: Callable[[int], int]) -> list[TrendDay]:
    return [
        TrendDay(
            f"2026-10-{1 + i:02d}" if i < 31 else f"2026-11-{i - 30:02d}",
            views(i),
            max(1, views(i) // 2),
            4.5 + i % 3,
            5.0 + i % 4,
        )
        for i in range(count)
    ]


def _bins(count: int, width: int, height: int, named: bool) -> list[GridBin]:
    """``count`` clicked 8 px squares spread over the page, deterministic."""
    return [
        GridBin(
            (i * 37) % width // 8 * 8,
            (i * 53) % height // 8 * 8,
            1 + i % 7,
            1 + i % 3,
            f"#main > a:nth-of-type({i})" if named else "",
            (HOSTILE if i == 3 else f"Link {i}") if named else "",
        )
        for i in range(count)
    ]


def _reach(height: int, step: int, fold: int) -> figures.ReachOverlay:
    bands = [
        ScrollBand(
            top, step, max(1, 20 - top // step), round(100 - 100 * top / height, 1)
        )
        for top in range(0, height + step, step)
    ]
    return figures.ReachOverlay(
        bands=bands, marks={75: 0, 50: step, 25: 2 * step}, fold_px=fold
    )


SHOT = figures.Backdrop(800, 1000, image_url="/dash/sites/blog/snapshots/1.png")
OUTLINE = figures.Backdrop(
    1440, 1200, sections=[("A post", 0, 500), (f"<b>Why</b> {LONG}", 500, 700)]
)
NARROW = figures.Backdrop(375, 900, sections=[(HOSTILE, 0, 300)])
WIDE_TALL = figures.Backdrop(1800, 12000, image_url="/dash/sites/blog/snapshots/2.png")

SECTIONS = [
    _section("A post", 1, 9.0, 60.0, reached=100.0),
    _section(f"<i>Why</i> {LONG}", 2, 12.7, 6.0, held=True, stop=True, left=40.0),
    _section('The "best" plan & more', 3, 6.75, None, reached=33.3, left=10.0),
    _section("How", 2, 0.0, 4.0, reached=0.0),
]
BARS = [
    figures.AttributionBar("Pricing", "https://x.example/pricing", 3, 2, 2.5),
    figures.AttributionBar(HOSTILE, "https://x.example/?q=<b>", 1, 0, 0.33),
]
MANY_BARS = [
    figures.AttributionBar(
        f"{LONG} number {i}", f"https://x.example/{i}", i, 17 - i, i / 3
    )
    for i in range(17)
]

# name → (builder, positional arguments, keyword arguments)
CASES: dict[str, tuple[Callable[..., Any], tuple, dict]] = {
    "trend_empty": (figures.trend_figure, ([],), {}),
    "trend_few_views": (figures.trend_figure, (_days(3, lambda i: 1 + i),), {}),
    "trend_forty_days": (
        figures.trend_figure,
        (_days(40, lambda i: 10 + i * 7 % 41),),
        {},
    ),
    "attention_empty": (figures.attention_figure, ([],), {}),
    "attention_sections": (figures.attention_figure, (SECTIONS,), {}),
    "attention_not_crawled": (figures.attention_figure, (SECTIONS[2:3],), {}),
    "influence_empty": (figures.influence_figure, ([],), {}),
    "influence_two": (figures.influence_figure, (BARS,), {}),
    "influence_many": (figures.influence_figure, (MANY_BARS,), {}),
    "depth_empty": (figures.depth_figure, ([], OUTLINE, 0), {}),
    "depth_snapshot": (
        figures.depth_figure,
        (
            [DepthBand(top, 100, round(top / 97, 2)) for top in range(0, 1200, 100)],
            SHOT,
            7,
        ),
        {},
    ),
    "depth_wide_tall": (
        figures.depth_figure,
        (
            [DepthBand(top, 400, 1.5 + top / 4000) for top in range(0, 12000, 400)],
            WIDE_TALL,
            30,
        ),
        {},
    ),
    "heatmap_empty": (figures.heatmap_figure, ([], OUTLINE), {"bin_px": 16}),
    "heatmap_snapshot_reach_title": (
        figures.heatmap_figure,
        (_bins(40, 800, 1000, named=False), SHOT, _reach(1000, 100, 700)),
        {"title": f"Pricing {HOSTILE}"},
    ),
    "heatmap_named_outline": (
        figures.heatmap_figure,
        (_bins(25, 1440, 1200, named=True), OUTLINE, _reach(1200, 120, 0)),
        {"bin_px": 16},
    ),
    "heatmap_narrow": (figures.heatmap_figure, (_bins(9, 375, 900, False), NARROW), {}),
    "heatmap_wide_tall": (
        figures.heatmap_figure,
        (_bins(30, 1800, 12000, named=True), WIDE_TALL, _reach(12000, 1200, 800)),
        {"bin_px": 32},
    ),
    "compare_snapshot": (
        figures.compare_figure,
        (_bins(30, 800, 1000, False), 12, _bins(11, 800, 600, False), 3, SHOT),
        {"labels": ("sales", "not:sales"), "reached_stage": "sql"},
    ),
    "compare_outline_no_b": (
        figures.compare_figure,
        (_bins(20, 1440, 1200, True), 5, [], 0, OUTLINE, (HOSTILE, "all")),
        {"bin_px": 16},
    ),
    "compare_empty": (
        figures.compare_figure,
        ([], 0, [], 0, NARROW, ("leads", "all")),
        {},
    ),
}


def build(name: str) -> Any:
    """The figure of case ``name``."""
    builder, args, kwargs = CASES[name]
    return builder(*args, **kwargs)
