"""Click density: clicked grid bins turned into smoothed heat layers.

Owns the grid (bins per page pixel, cut at a page height), the Gaussian blur that
turns single clicks into areas of heat, and the Plotly traces of a heat layer and
of its hover counts, as plain dicts. Shared by the heatmap and the comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from dashboard.figures.theme import DEFAULT_OPACITY, DENSITY_SCALE

SIGMA_PX = 12.0
# Grids are cut at this page height (Clarity caps its canvas near 65,535 px).
MAX_PAGE_H = 16384


class GridBinLike(Protocol):
    @property
    def x_px(self) -> int: ...
    @property
    def y_px(self) -> int: ...
    @property
    def clicks(self) -> int: ...
    @property
    def views(self) -> int: ...


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


def quantised(density: np.ndarray, top: float) -> np.ndarray:
    """Density as 0–255 bytes: a compact array in the page (``payload``
    sends numpy arrays as base64), and the colour scale only needs 256 steps."""
    if top <= 0:
        return np.zeros(density.shape, dtype=np.uint8)
    return np.clip(np.rint(density / top * 255), 0, 255).astype(np.uint8)


def grid_trace(z: np.ndarray, bin_px: int, **kwargs) -> dict:
    """A heat layer of a grid, without its empty top and bottom rows (a long
    page is mostly rows nobody clicked: they would only weigh on the page)."""
    rows = np.flatnonzero(z.any(axis=1))
    first, last = (int(rows[0]), int(rows[-1])) if rows.size else (0, 0)
    return {
        "type": "heatmap",
        "z": z[first : last + 1],
        "x0": bin_px / 2,
        "dx": bin_px,
        "y0": bin_px / 2 + first * bin_px,
        "dy": bin_px,
        "showscale": False,
        "hoverinfo": "skip",
        "opacity": DEFAULT_OPACITY,
        "zsmooth": "best",
        **kwargs,
    }


def density_trace(z: np.ndarray, bin_px: int, **kwargs) -> dict:
    """A heat layer of quantised click density on the shared density scale."""
    return grid_trace(z, bin_px, zmin=0, zmax=255, colorscale=DENSITY_SCALE, **kwargs)


# A square's counts on hover, as "label: number": a template cannot make
# "1 clicks" singular, and words per square would swell the page.
COUNTS = "Clicks: %{customdata[0]} · page views: %{customdata[1]}"


def hover_trace(bins: Sequence[GridBinLike], bin_px: int, **kwargs) -> dict:
    """Invisible markers on the clicked bins, so hovering tells real counts
    (the heat itself is smoothed).

    Arrays, not lists: the page receives them as base64 (``payload``), and a
    busy page has tens of thousands of clicked bins."""
    half = bin_px / 2
    return {
        "type": "scatter",
        "x": np.fromiter((b.x_px + half for b in bins), float, len(bins)),
        "y": np.fromiter((b.y_px + half for b in bins), float, len(bins)),
        "customdata": np.column_stack(
            (
                np.fromiter((b.clicks for b in bins), int, len(bins)),
                np.fromiter((b.views for b in bins), int, len(bins)),
            )
        ),
        "mode": "markers",
        "marker": {"size": bin_px, "opacity": 0, "color": "#000"},
        "hovertemplate": COUNTS + "<extra></extra>",
        "showlegend": False,
        **kwargs,
    }
