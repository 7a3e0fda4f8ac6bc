"""Plotly figures of the dashboard: aggregated rows in, ``go.Figure`` out.

Owns: how a click heatmap, scroll reach, attention per section and a segment
comparison look (colours, smoothing, axes, sizes). Takes plain objects with the
attributes it reads (the queries' dataclasses fit) and never touches the database,
Flask or the queries module, so every figure is testable from literal rows.

Text that came from a browser (headings, titles) is HTML-escaped before it goes
into a label: Plotly renders a subset of HTML in labels.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SIGMA_PX = 12.0
# Display scale: the page is drawn at most this wide and this tall (CSS px).
# Both fit the dashboard's 1,112 px panels with their margins.
MAX_DRAW_W = 940
MAX_COMPARE_W = 1010
MAX_DRAW_H = 9000
# Grids are cut at this page height (Clarity caps its canvas near 65,535 px).
MAX_PAGE_H = 16384
REACH_COL_W = 170
MARGIN = {"l": 48, "r": 16, "t": 40, "b": 24}
# Viridis (matplotlib's perceptually uniform scale): lightness rises steadily from
# dark purple to yellow, so the order reads with any colour vision and in grey;
# transparent at zero so the page shows through where nobody clicked.
DENSITY_SCALE = [
    [0.0, "rgba(68,1,84,0)"],
    [0.08, "rgba(68,1,84,0.35)"],
    [0.25, "rgba(59,82,139,0.75)"],
    [0.5, "rgba(33,145,140,0.85)"],
    [0.75, "rgba(94,201,98,0.95)"],
    [1.0, "rgba(253,231,37,1)"],
]
# Purple (B more) to orange (A more), ColorBrewer's PuOr: a diverging pair that
# stays apart for red-green colour blindness; transparent where segments agree.
DIFFERENCE_SCALE = [
    [0.0, "rgba(84,39,136,1)"],
    [0.35, "rgba(153,142,195,0.7)"],
    [0.5, "rgba(255,255,255,0)"],
    [0.65, "rgba(241,163,64,0.7)"],
    [1.0, "rgba(179,88,6,1)"],
]
# Scroll reach bars, from few views (0 %) to all of them (100 %): cividis, made
# for colour vision deficiency, light where everybody got, dark where few did.
REACH_SCALE = ["#00224e", "#35456c", "#666970", "#948e77", "#c8b866", "#fee838"]
DEFAULT_OPACITY = 0.8
NBSP = "\u00a0"
CONFIG = {
    "displaylogo": False,
    "responsive": False,
    # No "Share chart": it would upload the figure to Plotly's cloud.
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendChartToCloud"],
    "showSendToCloud": False,
    "toImageButtonOptions": {"format": "png", "filename": "resonance-heatmap"},
}


class GridBinLike(Protocol):
    @property
    def x_px(self) -> int: ...
    @property
    def y_px(self) -> int: ...
    @property
    def clicks(self) -> int: ...
    @property
    def visitors(self) -> int: ...


class BandLike(Protocol):
    @property
    def top_px(self) -> int: ...
    @property
    def height_px(self) -> int: ...
    @property
    def pct(self) -> float: ...
    @property
    def views(self) -> int: ...


class SectionLike(Protocol):
    @property
    def heading(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def avg_active_s(self) -> float: ...
    @property
    def reached_pct(self) -> float: ...
    @property
    def expected_s(self) -> float | None: ...
    @property
    def held_longer(self) -> bool: ...
    @property
    def readers_stop(self) -> bool: ...


@dataclass(frozen=True)
class Backdrop:
    """What a heatmap is drawn over: a screenshot (``image_url``) or, without one,
    a page outline with its section bands ``(heading, top_px, height_px)``."""

    width: int
    height: int
    image_url: str | None = None
    sections: Sequence[tuple[str, int, int]] = field(default_factory=tuple)


@dataclass(frozen=True)
class ReachOverlay:
    """Scroll reach drawn beside the page: bands, the 75/50/25 % marks and the
    average fold, all in page px."""

    bands: Sequence[BandLike]
    marks: dict[int, int]
    fold_px: int


def click_density(
    bins: Sequence[GridBinLike],
    width: int,
    height: int,
    bin_px: int = 8,
    sigma_px: float = SIGMA_PX,
) -> np.ndarray:
    """Clicks per bin as a (rows, columns) grid, smoothed by a Gaussian of
    ``sigma_px`` (close to heatmap.js's radius 40 / blur 0.85): clicks become
    areas of heat rather than single cells. Bins off the page are dropped."""
    rows = max(1, math.ceil(min(height, MAX_PAGE_H) / bin_px))
    cols = max(1, math.ceil(width / bin_px))
    grid = np.zeros((rows, cols))
    if bins:
        xs = np.array([b.x_px // bin_px for b in bins])
        ys = np.array([b.y_px // bin_px for b in bins])
        counts = np.array([b.clicks for b in bins], dtype=float)
        inside = (xs >= 0) & (xs < cols) & (ys >= 0) & (ys < rows)
        np.add.at(grid, (ys[inside], xs[inside]), counts[inside])
    return _blur(_blur(grid, sigma_px / bin_px, axis=0), sigma_px / bin_px, axis=1)


def _blur(grid: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Separable Gaussian along one axis, by shifted sums (one per kernel tap,
    vectorised over the grid); mass leaving the page is lost."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    weights /= weights.sum()
    out = np.zeros_like(grid)
    size = grid.shape[axis]
    for offset, weight in zip(offsets, weights, strict=True):
        src = slice(max(0, -offset), min(size, size - offset))
        dst = slice(max(0, offset), min(size, size + offset))
        if src.start >= src.stop:
            continue
        if axis == 0:
            out[dst, :] += weight * grid[src, :]
        else:
            out[:, dst] += weight * grid[:, src]
    return out


def _scale(
    width: int,
    height: int,
    extra_w: int = 0,
    columns: int = 1,
    max_w: int = MAX_DRAW_W,
) -> float:
    """Pixels on screen per page pixel, so the figure fits and stays 1:1."""
    return min(
        1.0,
        (max_w - extra_w) / max(width * columns, 1),
        MAX_DRAW_H / max(height, 1),
    )


def _quantised(density: np.ndarray, top: float) -> np.ndarray:
    """Density as 0–255 bytes: a compact array in the page (Plotly sends numpy
    arrays as base64), and the colour scale only needs 256 steps."""
    if top <= 0:
        return np.zeros(density.shape, dtype=np.uint8)
    return np.clip(np.rint(density / top * 255), 0, 255).astype(np.uint8)


def _grid_trace(z: np.ndarray, bin_px: int, **kwargs) -> go.Heatmap:
    """A heat layer of a grid, without its empty top and bottom rows (a long
    page is mostly rows nobody clicked: they would only weigh on the page)."""
    rows = np.flatnonzero(z.any(axis=1))
    first, last = (int(rows[0]), int(rows[-1])) if rows.size else (0, 0)
    return go.Heatmap(
        z=z[first : last + 1],
        x0=bin_px / 2,
        dx=bin_px,
        y0=bin_px / 2 + first * bin_px,
        dy=bin_px,
        showscale=False,
        hoverinfo="skip",
        opacity=DEFAULT_OPACITY,
        zsmooth="best",
        **kwargs,
    )


def _density_trace(z: np.ndarray, bin_px: int, **kwargs) -> go.Heatmap:
    return _grid_trace(z, bin_px, zmin=0, zmax=255, colorscale=DENSITY_SCALE, **kwargs)


def _hover_trace(bins: Sequence[GridBinLike], bin_px: int, **kwargs) -> go.Scatter:
    """Invisible markers on the clicked bins, so hovering tells real counts
    (the heat itself is smoothed).

    Arrays, not lists: Plotly validates a list element by element (0.3 s for
    the ~20 k clicked bins of a busy page), a numpy array at once."""
    half = bin_px / 2
    return go.Scatter(
        x=np.fromiter((b.x_px + half for b in bins), float, len(bins)),
        y=np.fromiter((b.y_px + half for b in bins), float, len(bins)),
        customdata=np.column_stack(
            (
                np.fromiter((b.clicks for b in bins), int, len(bins)),
                np.fromiter((b.visitors for b in bins), int, len(bins)),
            )
        ),
        mode="markers",
        marker={"size": bin_px, "opacity": 0, "color": "#000"},
        hovertemplate="%{customdata[0]} clicks · %{customdata[1]} visitors"
        "<extra></extra>",
        showlegend=False,
        **kwargs,
    )


@dataclass
class _Decor:
    """Images, shapes and annotations collected as plain dicts and set on the
    layout at once (Plotly's add_shape re-validates every shape each call)."""

    images: list[dict] = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)

    def apply(self, fig: go.Figure) -> None:
        fig.update_layout(
            images=self.images,
            shapes=self.shapes,
            annotations=[*fig.layout.annotations, *self.annotations],
        )


def _backdrop(decor: _Decor, backdrop: Backdrop, xref: str, yref: str) -> None:
    """The screenshot under the heat, or the outline of the page and its sections."""
    axes = {"xref": xref, "yref": yref}
    if backdrop.image_url:
        decor.images.append(
            axes
            | {
                "source": backdrop.image_url,
                "x": 0,
                "y": 0,
                "sizex": backdrop.width,
                "sizey": backdrop.height,
                "xanchor": "left",
                "yanchor": "top",
                "sizing": "stretch",
                "layer": "below",
            }
        )
        return
    decor.shapes.append(
        axes
        | {
            "type": "rect",
            "x0": 0,
            "y0": 0,
            "x1": backdrop.width,
            "y1": backdrop.height,
            "line": {"color": "#98a2b3", "width": 1},
            "fillcolor": "#ffffff",
            "layer": "below",
        }
    )
    for index, (heading, top, height) in enumerate(backdrop.sections):
        decor.shapes.append(
            axes
            | {
                "type": "rect",
                "x0": 0,
                "y0": top,
                "x1": backdrop.width,
                "y1": top + height,
                "line": {"color": "#d0d5dd", "width": 1},
                "fillcolor": "#eef1f6" if index % 2 else "#f9fafb",
                "layer": "below",
            }
        )
        decor.annotations.append(
            axes
            | {
                "x": 8,
                "y": top + 6,
                "xanchor": "left",
                "yanchor": "top",
                "text": html.escape(_short(heading)),
                "showarrow": False,
                "font": {"size": 12, "color": "#667085"},
            }
        )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _page_axes(fig: go.Figure, backdrop: Backdrop, row: int, col: int) -> None:
    """x from 0 to the page width, y reversed (top of the page on top)."""
    step = 100 if backdrop.width <= 500 else 200 if backdrop.width <= 1600 else 400
    fig.update_xaxes(
        range=[0, backdrop.width],
        # No 0: it would sit on the y axis's 0 in the top-left corner.
        tickvals=list(range(step, backdrop.width + 1, step)),
        showgrid=False,
        zeroline=False,
        side="top",
        constrain="domain",
        row=row,
        col=col,
    )
    fig.update_yaxes(
        range=[backdrop.height, 0],
        showgrid=False,
        zeroline=False,
        row=row,
        col=col,
    )


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
    scale = _scale(backdrop.width, backdrop.height, extra)
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
        _density_trace(_quantised(density, density.max()), bin_px, name="clicks"),
        row=1,
        col=1,
    )
    fig.add_trace(_hover_trace(bins, bin_px), row=1, col=1)
    decor = _Decor()
    _backdrop(decor, backdrop, "x", "y")
    _page_axes(fig, backdrop, 1, 1)
    fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
    if reach:
        _reach(fig, decor, reach, backdrop)
    decor.apply(fig)
    fig.update_layout(
        width=round(page_w + extra + 12 + MARGIN["l"] + MARGIN["r"]),
        height=round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"]),
        margin=MARGIN,
        title={"text": html.escape(title), "x": 0, "font": {"size": 14}}
        if title
        else None,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        showlegend=False,
        hovermode="closest",
        dragmode="pan",
    )
    return fig


def _reach_colour(pct: float) -> str:
    """The REACH_SCALE stop nearest to ``pct`` (0–100)."""
    steps = len(REACH_SCALE) - 1
    return REACH_SCALE[round(min(max(pct, 0.0), 100.0) / 100 * steps)]


def _reach(
    fig: go.Figure, decor: _Decor, reach: ReachOverlay, backdrop: Backdrop
) -> None:
    """Scroll reach as horizontal bars (REACH_SCALE: yellow where all views got,
    dark blue where few did) in the second column, with dashed lines at 75/50/25 %
    and the average fold across both columns."""
    bands = _merged([b for b in reach.bands if b.top_px < backdrop.height])
    fig.add_trace(
        go.Bar(
            orientation="h",
            x=[b.pct for b in bands],
            y=[b.top_px + b.height_px / 2 for b in bands],
            width=[b.height_px for b in bands],
            marker={
                "color": [_reach_colour(b.pct) for b in bands],
                "line": {"width": 0},
            },
            customdata=[[b.top_px, b.views] for b in bands],
            hovertemplate="%{x}% reached %{customdata[0]} px"
            " (%{customdata[1]} views)<extra></extra>",
            name="reach",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(
        range=[0, 100],
        side="top",
        ticksuffix="%",
        tickvals=[0, 50, 100],
        showgrid=True,
        title={"text": "views reaching", "font": {"size": 11}},
        row=1,
        col=2,
    )
    # Marks at the same depth share one label; the fold's label goes below its
    # line so that it never covers a mark's.
    depths: dict[int, list[int]] = {}
    for pct, y in sorted(reach.marks.items(), reverse=True):
        if y:
            depths.setdefault(y, []).append(pct)
    lines = [
        (" · ".join(f"{p} %" for p in pcts) + " reached", y, "bottom")
        for y, pcts in depths.items()
    ]
    if reach.fold_px:
        lines.append(("average fold", reach.fold_px, "top"))
    for label, y, anchor in lines:
        decor.shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": y,
                "y1": y,
                "line": {"color": "#101828", "width": 1, "dash": "dash"},
            }
        )
        decor.annotations.append(
            {
                "xref": "paper",
                "yref": "y",
                "x": 1,
                "y": y,
                "xanchor": "right",
                "yanchor": anchor,
                "text": label,
                "showarrow": False,
                "font": {"size": 11, "color": "#101828"},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )


@dataclass(frozen=True)
class _Band:
    top_px: int
    height_px: int
    views: int
    pct: float


def _merged(bands: Sequence[BandLike]) -> list[_Band]:
    """Neighbouring bands that the same views reached drawn as one bar (no
    hairlines between equal bars, fewer shapes)."""
    merged: list[_Band] = []
    for band in bands:
        last = merged[-1] if merged else None
        if last and last.views == band.views and last.pct == band.pct:
            merged[-1] = _Band(
                last.top_px,
                band.top_px + band.height_px - last.top_px,
                last.views,
                last.pct,
            )
        else:
            merged.append(_Band(band.top_px, band.height_px, band.views, band.pct))
    return merged


def compare_figure(
    bins_a: Sequence[GridBinLike],
    views_a: int,
    bins_b: Sequence[GridBinLike],
    views_b: int,
    backdrop: Backdrop,
    labels: tuple[str, str],
    bin_px: int = 8,
) -> go.Figure:
    """Two segments side by side on one colour scale (click density per page
    view), and the difference A − B (red: A clicks more, blue: B clicks more)."""
    a = click_density(bins_a, backdrop.width, backdrop.height, bin_px)
    b = click_density(bins_b, backdrop.width, backdrop.height, bin_px)
    a = a / views_a if views_a else a * 0
    b = b / views_b if views_b else b * 0
    top = max(a.max(), b.max())
    diff = a - b
    spread = float(np.abs(diff).max())
    scale = _scale(backdrop.width, backdrop.height, 24, 3, MAX_COMPARE_W)
    titles = (
        f"{html.escape(labels[0])} ({views_a} views)",
        f"{html.escape(labels[1])} ({views_b} views)",
        f"{html.escape(labels[0])} − {html.escape(labels[1])}",
    )
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        subplot_titles=titles,
        horizontal_spacing=0.015,
    )
    fig.add_trace(_density_trace(_quantised(a, top), bin_px, name="a"), row=1, col=1)
    fig.add_trace(_density_trace(_quantised(b, top), bin_px, name="b"), row=1, col=2)
    z = np.zeros(diff.shape, dtype=np.int8)
    if spread > 0:
        z = np.clip(np.rint(diff / spread * 127), -127, 127).astype(np.int8)
    fig.add_trace(
        _grid_trace(
            z,
            bin_px,
            zmin=-127,
            zmax=127,
            zmid=0,
            colorscale=DIFFERENCE_SCALE,
            name="difference",
        ),
        row=1,
        col=3,
    )
    decor = _Decor()
    for col, (xref, yref) in enumerate((("x", "y"), ("x2", "y2"), ("x3", "y3")), 1):
        _backdrop(decor, backdrop, xref, yref)
        _page_axes(fig, backdrop, 1, col)
        if col > 1:
            fig.update_xaxes(matches="x", row=1, col=col)
    fig.update_xaxes(showticklabels=False)  # the titles sit there
    decor.apply(fig)
    fig.update_yaxes(scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_layout(
        width=round(3 * backdrop.width * scale + 24 + MARGIN["l"] + MARGIN["r"]),
        height=round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"] + 24),
        margin=MARGIN | {"t": 64},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        showlegend=False,
        dragmode="pan",
    )
    return fig


def attention_figure(sections: Sequence[SectionLike]) -> go.Figure:
    """Average active seconds per view of each section (page order, top down),
    with the expected reading time as a marker where the page was crawled."""
    labels = [
        f"{NBSP * 3 * (s.level - 1)}{html.escape(_short(s.heading, 48))}"
        for s in sections
    ]
    colours = [
        "#d92d20" if s.readers_stop else "#3b5bdb" if s.held_longer else "#98a2b3"
        for s in sections
    ]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=labels,
            x=[s.avg_active_s for s in sections],
            marker={"color": colours},
            customdata=[[s.reached_pct] for s in sections],
            text=[
                f"{s.avg_active_s:g} s · {s.reached_pct:g}% reached" for s in sections
            ],
            textposition="auto",
            hovertemplate="%{y}<br>%{x} s per view · %{customdata[0]}% reached"
            "<extra></extra>",
            name="active",
        )
    )
    expected = [
        (label, s.expected_s) for label, s in zip(labels, sections, strict=True)
    ]
    known = [(label, e) for label, e in expected if e is not None]
    if known:
        fig.add_trace(
            go.Scatter(
                y=[label for label, _ in known],
                x=[e for _, e in known],
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 18, "color": "#101828"},
                hovertemplate="expected %{x} s<extra></extra>",
                name="expected",
            )
        )
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title="active seconds per view", rangemode="tozero")
    fig.update_layout(
        height=max(160, 36 * len(sections) + 90),
        margin={"l": 16, "r": 16, "t": 16, "b": 48},
        showlegend=False,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        bargap=0.3,
    )
    fig.update_yaxes(automargin=True)
    return fig


def figure_payload(fig: go.Figure) -> dict:
    """What the page embeds: data, layout and the shared config (with the
    modebar's PNG export)."""
    payload = json.loads(fig.to_json())
    return {"data": payload["data"], "layout": payload["layout"], "config": CONFIG}
