"""The click heatmap of a content page, with its scroll reach beside it.

Owns how the heat layer, the hover counts, the backdrop and the reach column are
put together into one figure at one page pixel per screen pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.backdrop import (
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
    hover_trace,
    quantised,
)
from dashboard.figures.reach import REACH_COL_W, ReachOverlay, draw_reach
from dashboard.figures.theme import BACKGROUND, MARGIN, plain, short

NAME_CHARS = 60  # the hover's element name
SELECTOR_CHARS = 80  # and its selector beneath


def heatmap_figure(
    bins: Sequence[GridBinLike],
    backdrop: Backdrop,
    reach: ReachOverlay | None = None,
    bin_px: int = 8,
    title: str = "",
) -> go.Figure:
    """The click heatmap over the page at 1:1 scale, with scroll reach beside it
    on the same y axis when given."""
    density = click_density(bins, backdrop.width, backdrop.height, bin_px)
    extra = REACH_COL_W if reach else 0
    scale = page_scale(backdrop.width, backdrop.height, extra)
    page_w = backdrop.width * scale
    cols = 2 if reach else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        shared_yaxes=True,
        column_widths=[page_w, REACH_COL_W] if reach else None,
        horizontal_spacing=12 / (page_w + extra) if reach else 0.02,
    )
    fig.add_trace(
        density_trace(quantised(density, density.max()), bin_px, name="clicks"),
        row=1,
        col=1,
    )
    fig.add_trace(element_hover_trace(bins, bin_px), row=1, col=1)
    decor = Decor()
    draw_backdrop(decor, backdrop, "x", "y")
    page_axes(fig, backdrop, 1, 1)
    fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
    if reach:
        draw_reach(fig, decor, reach, backdrop)
    decor.apply(fig)
    fig.update_layout(
        width=round(page_w + extra + 12 + MARGIN["l"] + MARGIN["r"]),
        height=round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"]),
        margin=MARGIN,
        title={"text": plain(title), "x": 0, "font": {"size": 14}} if title else None,
        plot_bgcolor=BACKGROUND,
        paper_bgcolor=BACKGROUND,
        showlegend=False,
        hovermode="closest",
        dragmode="pan",
    )
    return fig


def element_hover_trace(bins: Sequence[GridBinLike], bin_px: int) -> go.Scatter:
    """Hover markers that name the element clicked most in each square, its
    selector beneath in grey, then the counts (the plain counts when the bins
    carry no names). Names and selectors come from browsers: escaped."""
    trace = hover_trace(bins, bin_px)
    if not any(getattr(b, "name", "") for b in bins):
        return trace
    trace.customdata = [
        (
            b.clicks,
            b.visitors,
            plain(short(getattr(b, "name", ""), NAME_CHARS)),
            plain(short(getattr(b, "selector", ""), SELECTOR_CHARS)),
        )
        for b in bins
    ]
    trace.hovertemplate = (
        "<b>%{customdata[2]}</b><br><span style='color:#888'>%{customdata[3]}</span>"
        "<br>%{customdata[0]} clicks · %{customdata[1]} visitors<extra></extra>"
    )
    return trace
