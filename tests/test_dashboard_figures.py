"""Figures are pure: literal rows in, a Plotly figure out (no database, no app).

Each figure is read through ``go.Figure``, which validates it as the browser's
Plotly would draw it and gives its parts by name."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard import figures
from dashboard.figures import density, theme


@dataclass(frozen=True)
class Bin:
    x_px: int
    y_px: int
    clicks: int
    views: int


@dataclass(frozen=True)
class Band:
    top_px: int
    height_px: int
    views: int
    pct: float


@dataclass(frozen=True)
class Section:
    heading: str
    level: int
    avg_active_s: float
    reached_pct: float
    expected_s: float | None
    held_longer: bool = False
    readers_stop: bool = False
    left_pct: float = 0.0


BINS = [Bin(296, 416, 5, 2), Bin(696, 248, 1, 1)]
SHOT = figures.Backdrop(1440, 3000, image_url="/dash/sites/blog/snapshots/1.png")
OUTLINE = figures.Backdrop(
    1440, 3000, sections=[("A post", 0, 800), ("<b>Why</b>", 800, 1200)]
)
REACH = figures.ReachOverlay(
    bands=[Band(0, 100, 3, 100.0), Band(100, 100, 2, 66.7), Band(200, 100, 1, 33.3)],
    marks={75: 0, 50: 100, 25: 200},
    fold_px=900,
)


def _types(fig) -> list[str]:
    return [trace.type for trace in fig.data]


def test_density_puts_the_clicks_where_they_were_and_smooths_them():
    grid = density.click_density(BINS, 1440, 3000)

    assert grid.shape == (375, 180)
    assert np.unravel_index(grid.argmax(), grid.shape) == (416 // 8, 296 // 8)
    # Smoothing spreads a bin's clicks over its neighbours, keeping their total.
    assert grid[52, 37] < 5
    assert grid[52, 38] > 0
    assert grid.sum() == pytest.approx(6, rel=1e-6)


def test_density_drops_bins_off_the_page():
    grid = density.click_density([Bin(5000, 10, 3, 1), Bin(8, -16, 2, 1)], 100, 100)

    assert grid.sum() == 0


def test_heatmap_over_a_snapshot_has_the_image_and_reversed_1_to_1_axes():
    fig = go.Figure(figures.heatmap_figure(BINS, SHOT, REACH))

    assert _types(fig) == ["heatmap", "scatter", "bar"]
    image = fig.layout.images[0]
    assert image.source == SHOT.image_url
    assert (image.x, image.y, image.sizex, image.sizey) == (0, 0, 1440, 3000)
    assert image.yanchor == "top" and image.layer == "below"
    assert tuple(fig.layout.yaxis.range) == (3000, 0)
    assert tuple(fig.layout.xaxis.range) == (0, 1440)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.yaxis2.matches == "y"
    assert not fig.layout.shapes or all(s.type == "line" for s in fig.layout.shapes)


def test_heatmap_colours_are_transparent_at_zero_and_opacity_is_adjustable():
    heat = go.Figure(figures.heatmap_figure(BINS, SHOT)).data[0]

    assert heat.colorscale[0][1] == "rgba(68,1,84,0)"
    assert heat.colorscale[-1][1] == "rgba(253,231,37,1)"
    assert heat.opacity == theme.DEFAULT_OPACITY
    assert heat.z.dtype == np.uint8 and heat.z.max() == 255
    assert heat.hoverinfo == "skip"


def test_hover_tells_the_real_counts_of_each_bin():
    hover = go.Figure(figures.heatmap_figure(BINS, SHOT)).data[1]

    assert list(hover.x) == [300, 700]
    assert list(hover.y) == [420, 252]
    assert [list(c) for c in hover.customdata] == [[5, 2], [1, 1]]


def test_without_snapshot_the_page_outline_and_sections_are_drawn():
    fig = go.Figure(figures.heatmap_figure(BINS, OUTLINE))

    assert not fig.layout.images
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(r.y0, r.y1) for r in rects] == [(0, 3000), (0, 800), (800, 2000)]
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["A post", "&lt;b&gt;Why&lt;/b&gt;"]


def test_labels_escape_markup_but_show_quotes_as_quotes():
    """Plotly's labels know only a few entities and would show ``&quot;`` as is:
    a heading's quotes stay quotes, its < > & are escaped, in every figure."""
    heading = 'The "best" <b>plan</b> & more'
    shown = 'The "best" &lt;b&gt;plan&lt;/b&gt; &amp; more'
    outline = figures.Backdrop(1440, 3000, sections=[(heading, 0, 800)])

    heat = go.Figure(figures.heatmap_figure(BINS, outline, title=heading))
    attention = go.Figure(
        figures.attention_figure([Section(heading, 1, 1.0, 100.0, None)])
    )
    compare = go.Figure(
        figures.compare_figure(BINS, 1, BINS, 1, SHOT, (heading, "all"))
    )

    assert [a.text for a in heat.layout.annotations] == [shown]
    assert heat.layout.title.text == shown
    assert list(attention.data[0].y) == [shown]
    assert compare.layout.annotations[0].text == f"{shown} (1 views)"


def test_scroll_reach_is_drawn_beside_with_marks_and_fold():
    fig = go.Figure(figures.heatmap_figure(BINS, SHOT, REACH))

    bars = fig.data[2]
    assert bars.orientation == "h"
    assert list(bars.x) == [100.0, 66.7, 33.3]
    assert list(bars.y) == [50, 150, 250]
    assert bars.xaxis == "x2" and bars.yaxis == "y2"
    lines = [(s.y0, s.line.dash) for s in fig.layout.shapes if s.type == "line"]
    # 75 % at 0 px is the top of the page: no line there.
    assert lines == [(100, "dash"), (200, "dash"), (900, "dash")]
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["50 % reached", "25 % reached", "average fold"]


def test_equal_neighbouring_bands_are_one_bar_and_equal_marks_one_label():
    reach = figures.ReachOverlay(
        bands=[
            Band(0, 100, 3, 100.0),
            Band(100, 100, 3, 100.0),
            Band(200, 100, 1, 33.3),
        ],
        marks={75: 100, 50: 100, 25: 200},
        fold_px=0,
    )

    fig = go.Figure(figures.heatmap_figure(BINS, SHOT, reach))

    bars = fig.data[2]
    assert list(bars.y) == [100, 250] and list(bars.width) == [200, 100]
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["75 % · 50 % reached", "25 % reached"]


def test_an_empty_heatmap_is_still_a_figure():
    fig = go.Figure(figures.heatmap_figure([], OUTLINE))

    assert _types(fig) == ["heatmap", "scatter"]
    assert fig.data[0].z.max() == 0


def test_figure_size_keeps_one_page_pixel_per_screen_pixel_ratio():
    fig = go.Figure(figures.heatmap_figure(BINS, figures.Backdrop(375, 2000)))

    plot_w = fig.layout.width - theme.MARGIN["l"] - theme.MARGIN["r"] - 12
    plot_h = fig.layout.height - theme.MARGIN["t"] - theme.MARGIN["b"]
    assert plot_w == 375 and plot_h == 2000


def test_compare_has_both_segments_and_their_difference_per_view():
    a = [Bin(0, 0, 4, 2)]  # 4 clicks in 2 views: 2 per view
    b = [Bin(0, 0, 2, 2), Bin(80, 80, 2, 1)]  # 2 in 1 view there, 2 elsewhere

    fig = go.Figure(
        figures.compare_figure(a, 2, b, 1, SHOT, ("sales", "all"), reached_stage="sql")
    )

    assert _types(fig) == ["heatmap", "heatmap", "heatmap"]
    assert [i.xref for i in fig.layout.images] == ["x", "x2", "x3"]
    diff = fig.data[2]
    assert diff.zmid == 0 and diff.z.dtype == np.int8
    # Same density per view at (0, 0): no difference there; B's extra clicks
    # elsewhere are blue (negative).
    assert diff.z[0, 0] == 0
    assert diff.z.min() == -127 and diff.z.max() == 0
    # Both segments on one scale: B's peak is the top of the scale.
    assert fig.data[1].z.max() == 255
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:3] == [
        "reached sales (SQL or later) (2 views)",
        "all visitors (1 views)",
        "reached sales (SQL or later) − all visitors",
    ]


def test_attention_bars_in_page_order_with_expected_time_and_flags():
    sections = [
        Section("A post", 1, 9.0, 100.0, 60.0),
        Section("<i>Why</i>", 2, 12.7, 100.0, 6.0, held_longer=True, readers_stop=True),
        Section("How", 2, 6.7, 33.3, None),
    ]

    fig = go.Figure(figures.attention_figure(sections))

    bars, expected = fig.data
    assert bars.type == "bar" and bars.orientation == "h"
    assert list(bars.x) == [9.0, 12.7, 6.7]
    assert bars.y[1].endswith("&lt;i&gt;Why&lt;/i&gt;")
    assert bars.marker.color[1] == "#d92d20"
    assert list(expected.x) == [60.0, 6.0]
    assert fig.layout.yaxis.autorange == "reversed"


def test_payload_is_json_with_the_png_export_enabled():
    payload = figures.figure_payload(figures.heatmap_figure(BINS, SHOT, REACH))

    text = json.dumps(payload)
    assert json.loads(text)["data"][0]["type"] == "heatmap"
    assert payload["config"]["displaylogo"] is False
    removed = payload["config"]["modeBarButtonsToRemove"]
    assert "toImage" not in removed and "sendChartToCloud" in removed
    assert payload["config"]["toImageButtonOptions"]["format"] == "png"


def test_heat_layers_leave_out_the_empty_rows_of_a_long_page():
    page = figures.Backdrop(375, 9000)
    heat = go.Figure(figures.heatmap_figure([Bin(96, 2000, 1, 1)], page)).data[0]

    rows = len(heat.z)
    assert rows < 20  # the blur's reach, not the page's 1,125 rows
    assert heat.y0 < 2000 + 4 < heat.y0 + rows * 8
    assert heat.z[(2000 + 4 - int(heat.y0)) // 8].max() == 255


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb`` or ``rgba(r,g,b,a)``."""
    if colour.startswith("#"):
        channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [int(v) for v in colour[colour.index("(") + 1 :].split(",")[:3]]
    linear = [
        c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4
        for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_colour_scales_read_by_lightness_alone():
    """Sequential scales get lighter at every step, so their order survives any
    colour vision deficiency (and greyscale); the diverging scale is dark at
    both ends and its two sides are not a red/green pair."""
    density = [_luminance(stop[1]) for stop in theme.DENSITY_SCALE]
    reach = [_luminance(colour) for colour in theme.REACH_SCALE]
    assert density == sorted(density) and len(set(density)) == len(density) - 1
    assert reach == sorted(reach) and len(set(reach)) == len(reach)
    ends = theme.DIFFERENCE_SCALE[0][1], theme.DIFFERENCE_SCALE[-1][1]
    inner = theme.DIFFERENCE_SCALE[1][1], theme.DIFFERENCE_SCALE[-2][1]
    assert all(_luminance(e) < _luminance(i) for e, i in zip(ends, inner, strict=True))
