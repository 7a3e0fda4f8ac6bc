"""The attention map by depth: how long each 100 px band of the page was on
screen per view, drawn over the page and as bars beside it.

Owns the map as Clarity and Hotjar draw theirs (the page coloured band by band,
hot where screens rested long, nothing where nobody looked) and, on the same y
axis, the seconds per view of each band as bars, to read exact values off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dashboard.figures.backdrop import (
    Backdrop,
    Decor,
    draw_backdrop,
    page_axes,
    page_scale,
)
from dashboard.figures.panels import on_panel, panels
from dashboard.figures.theme import (
    BACKGROUND,
    DEPTH_BAR_SCALE,
    DEPTH_SCALE,
    MARGIN,
)

# Width of the bars' column beside the page (CSS px).
BARS_COL_W = 170
HOVER = "%{customdata[0]}–%{customdata[1]} px: %{customdata[2]} s per view"


class DepthBandLike(Protocol):
    @property
    def top_px(self) -> int: ...
    @property
    def height_px(self) -> int: ...
    @property
    def avg_s(self) -> float: ...


def depth_figure(
    bands: Sequence[DepthBandLike], backdrop: Backdrop, views: int
) -> dict:
    """The page at 1:1 scale coloured by the seconds each band was on screen per
    view (DEPTH_SCALE, over the snapshot or the page outline), and the same
    seconds as bars beside it; ``views`` page views reported the bands."""
    shown = [band for band in bands if band.top_px < backdrop.height]
    scale = page_scale(backdrop.width, backdrop.height, BARS_COL_W)
    page_w = backdrop.width * scale
    layout = panels(2, 12 / (page_w + BARS_COL_W), [page_w, BARS_COL_W])
    top = max((band.avg_s for band in shown), default=0.0) or 1.0
    custom = [
        [band.top_px, band.top_px + band.height_px, f"{band.avg_s:g}"] for band in shown
    ]
    data = []
    if shown:
        data = [
            on_panel(_heat(shown, backdrop.width, top, custom), 1),
            on_panel(_bars(shown, top, custom), 2),
        ]
    decor = Decor()
    draw_backdrop(decor, backdrop, "x", "y")
    page_axes(layout, backdrop, 1)
    layout["yaxis"] |= {"scaleanchor": "x", "scaleratio": 1}
    layout["xaxis2"] |= {
        "range": [0, top * 1.05],
        "side": "top",
        "ticksuffix": " s",
        "nticks": 3,
        "showgrid": True,
        "title": {"text": f"on screen per view ({views} views)", "font": {"size": 11}},
    }
    decor.apply(layout)
    layout |= {
        "width": round(page_w + BARS_COL_W + 12 + MARGIN["l"] + MARGIN["r"]),
        "height": round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"]),
        "margin": dict(MARGIN),
        "plot_bgcolor": BACKGROUND,
        "paper_bgcolor": BACKGROUND,
        "showlegend": False,
        "hovermode": "closest",
        "dragmode": "pan",
    }
    return {"data": data, "layout": layout}


def _heat(bands: Sequence[DepthBandLike], width: int, top: float, custom: list) -> dict:
    """One cell per band across the page's width (x and y are cell edges),
    blended into the next ("best" smoothing: also the rendering that sets no
    style attribute, which the dashboard's style policy refuses)."""
    return {
        "type": "heatmap",
        "z": [[band.avg_s] for band in bands],
        "x": [0, width],
        "y": [band.top_px for band in bands] + [bands[-1].top_px + bands[-1].height_px],
        "customdata": [[row] for row in custom],
        "colorscale": DEPTH_SCALE,
        "zmin": 0,
        "zmax": top,
        "showscale": False,
        "zsmooth": "best",
        "hovertemplate": HOVER + "<extra></extra>",
        "name": "attention",
    }


def _bars(bands: Sequence[DepthBandLike], top: float, custom: list) -> dict:
    """The same seconds as horizontal bars, one per band, on the page's y."""
    return {
        "type": "bar",
        "orientation": "h",
        "x": [band.avg_s for band in bands],
        "y": [band.top_px + band.height_px / 2 for band in bands],
        "width": [band.height_px for band in bands],
        "marker": {
            "color": [band.avg_s for band in bands],
            "colorscale": DEPTH_BAR_SCALE,
            "cmin": 0,
            "cmax": top,
            "line": {"width": 0},
        },
        "customdata": custom,
        "hovertemplate": HOVER + "<extra></extra>",
        "name": "seconds",
    }
