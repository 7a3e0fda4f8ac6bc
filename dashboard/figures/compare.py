"""Two segments' clicks on the same page, side by side, and their difference.

Owns how a comparison is made fair (density per page view, both segments on one
colour scale) and how the difference A − B is drawn (a diverging scale, centred
on no difference). Segments are named for people (``dashboard.segment_names``):
"reached sales (SQL or later)" vs "everyone else", never "sales vs all".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashboard.figures.backdrop import (
    MAX_COMPARE_W,
    Backdrop,
    Decor,
    draw_backdrop,
    page_axes,
    page_scale,
)
from dashboard.figures.density import (
    GridBinLike,
    click_density,
    density_trace,
    grid_trace,
    quantised,
)
from dashboard.figures.panels import axis_names, axis_refs, on_panel, panels
from dashboard.figures.theme import BACKGROUND, DIFFERENCE_SCALE, MARGIN, plain
from dashboard.segment_names import compare_labels


def compare_figure(
    bins_a: Sequence[GridBinLike],
    views_a: int,
    bins_b: Sequence[GridBinLike],
    views_b: int,
    backdrop: Backdrop,
    labels: tuple[str, str],
    bin_px: int = 8,
    reached_stage: str | None = None,
) -> dict:
    """Two segments side by side on one colour scale (click density per page
    view), and the difference A − B (orange: A clicks more, purple: B clicks
    more). ``labels`` are segment values or names; values are named for people,
    "reached sales" with the site's ``reached_stage`` when given."""
    labels = compare_labels(*labels, reached_stage)
    a = click_density(bins_a, backdrop.width, backdrop.height, bin_px)
    b = click_density(bins_b, backdrop.width, backdrop.height, bin_px)
    a = a / views_a if views_a else a * 0
    b = b / views_b if views_b else b * 0
    top = max(a.max(), b.max())
    scale = page_scale(backdrop.width, backdrop.height, 24, 3, MAX_COMPARE_W)
    titles = (
        f"{plain(labels[0])} ({views_a} views)",
        f"{plain(labels[1])} ({views_b} views)",
        f"{plain(labels[0])} − {plain(labels[1])}",
    )
    layout = panels(3, 0.015, titles=titles)
    data = [
        on_panel(density_trace(quantised(a, top), bin_px, name="a"), 1),
        on_panel(density_trace(quantised(b, top), bin_px, name="b"), 2),
        on_panel(_difference_trace(a - b, bin_px), 3),
    ]
    decor = Decor()
    for col in (1, 2, 3):
        draw_backdrop(decor, backdrop, *axis_refs(col))
        page_axes(layout, backdrop, col)
        xaxis = axis_names(col)[0]
        if col > 1:
            layout[xaxis]["matches"] = "x"
        layout[xaxis]["showticklabels"] = False  # the titles sit there
    decor.apply(layout)
    layout["yaxis"] |= {"scaleanchor": "x", "scaleratio": 1}
    layout |= {
        "width": round(3 * backdrop.width * scale + 24 + MARGIN["l"] + MARGIN["r"]),
        "height": round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"] + 24),
        "margin": MARGIN | {"t": 64},
        "plot_bgcolor": BACKGROUND,
        "paper_bgcolor": BACKGROUND,
        "showlegend": False,
        "dragmode": "pan",
    }
    return {"data": data, "layout": layout}


def _difference_trace(diff: np.ndarray, bin_px: int) -> dict:
    """A − B as signed bytes scaled to the largest difference either way, so
    the scale's ends are the page's strongest preference for each segment."""
    spread = float(np.abs(diff).max())
    z = np.zeros(diff.shape, dtype=np.int8)
    if spread > 0:
        z = np.clip(np.rint(diff / spread * 127), -127, 127).astype(np.int8)
    return grid_trace(
        z,
        bin_px,
        zmin=-127,
        zmax=127,
        zmid=0,
        colorscale=DIFFERENCE_SCALE,
        name="difference",
    )
