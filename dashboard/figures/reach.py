"""Scroll reach drawn beside the heatmap, on the page's own y axis.

Owns how far views got as horizontal bars (one per band of the page), the
75/50/25 % marks and the average fold as dashed lines across the page and the
bars. The heatmap places it in its second column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dashboard.figures.backdrop import Backdrop, Decor
from dashboard.figures.panels import on_panel
from dashboard.figures.theme import INK, REACH_SCALE

# Width of the reach column beside the page (CSS px).
REACH_COL_W = 170


class BandLike(Protocol):
    @property
    def top_px(self) -> int: ...
    @property
    def height_px(self) -> int: ...
    @property
    def pct(self) -> float: ...
    @property
    def views(self) -> int: ...


@dataclass(frozen=True)
class ReachOverlay:
    """Scroll reach drawn beside the page: bands, the 75/50/25 % marks and the
    average fold, all in page px."""

    bands: Sequence[BandLike]
    marks: dict[int, int]
    fold_px: int


@dataclass(frozen=True)
class _Band:
    top_px: int
    height_px: int
    views: int
    pct: float


def _colour(pct: float) -> str:
    """The REACH_SCALE stop nearest to ``pct`` (0–100)."""
    steps = len(REACH_SCALE) - 1
    return REACH_SCALE[round(min(max(pct, 0.0), 100.0) / 100 * steps)]


def draw_reach(
    data: list[dict],
    layout: dict,
    decor: Decor,
    reach: ReachOverlay,
    backdrop: Backdrop,
) -> None:
    """Scroll reach as horizontal bars (REACH_SCALE: yellow where all views got,
    dark blue where few did) in the second panel, with dashed lines at 75/50/25 %
    and the average fold across both panels."""
    bands = _merged([b for b in reach.bands if b.top_px < backdrop.height])
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [b.pct for b in bands],
        "y": [b.top_px + b.height_px / 2 for b in bands],
        "width": [b.height_px for b in bands],
        "marker": {"color": [_colour(b.pct) for b in bands], "line": {"width": 0}},
        "customdata": [[b.top_px, b.views] for b in bands],
        "hovertemplate": "%{x}% reached %{customdata[0]} px"
        " (%{customdata[1]} views)<extra></extra>",
        "name": "reach",
    }
    data.append(on_panel(bars, 2))
    layout["xaxis2"] |= {
        "range": [0, 100],
        "side": "top",
        "ticksuffix": "%",
        "tickvals": [0, 50, 100],
        "showgrid": True,
        "title": {"text": "views reaching", "font": {"size": 11}},
    }
    for label, y, anchor in _lines(reach):
        decor.shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": y,
                "y1": y,
                "line": {"color": INK, "width": 1, "dash": "dash"},
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
                "font": {"size": 11, "color": INK},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )


def _lines(reach: ReachOverlay) -> list[tuple[str, int, str]]:
    """``(label, y, yanchor)`` of each dashed line. Marks at the same depth share
    one label; the fold's label goes below its line so that it never covers a
    mark's; a mark at the top of the page (0 px) has no line."""
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
    return lines


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
