"""The page a heat layer is drawn over, at one page pixel per screen pixel.

Owns the backdrop (a screenshot, or the page's outline and sections), the page
axes (y reversed, top of the page on top) and the scale that fits a page into the
dashboard's panels. Shared by the heatmap, the attention map and the comparison,
which draw the same page once or three times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dashboard.figures.panels import axis_names
from dashboard.figures.theme import BACKGROUND, OUTLINE, plain, short

# Display scale: the page is drawn at most this wide and this tall (CSS px).
# Both fit the dashboard's 1,112 px panels with their margins.
MAX_DRAW_W = 940
MAX_COMPARE_W = 1010
MAX_DRAW_H = 9000
HEADING_CHARS = 60


@dataclass(frozen=True)
class Backdrop:
    """What a heatmap is drawn over: a screenshot (``image_url``) or, without one,
    a page outline with its section bands ``(heading, top_px, height_px)``."""

    width: int
    height: int
    image_url: str | None = None
    sections: Sequence[tuple[str, int, int]] = field(default_factory=tuple)


@dataclass
class Decor:
    """Images, shapes and annotations collected as plain dicts and set on the
    layout at once, after any it has (the panels' titles)."""

    images: list[dict] = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)

    def apply(self, layout: dict) -> None:
        for key in ("images", "shapes", "annotations"):
            items = [*layout.get(key, ()), *getattr(self, key)]
            if items:
                layout[key] = items


def page_scale(
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


def draw_backdrop(decor: Decor, backdrop: Backdrop, xref: str, yref: str) -> None:
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
            "line": {"color": OUTLINE["frame"], "width": 1},
            "fillcolor": BACKGROUND,
            "layer": "below",
        }
    )
    fills = OUTLINE["band_fills"]
    for index, (heading, top, height) in enumerate(backdrop.sections):
        decor.shapes.append(
            axes
            | {
                "type": "rect",
                "x0": 0,
                "y0": top,
                "x1": backdrop.width,
                "y1": top + height,
                "line": {"color": OUTLINE["band_line"], "width": 1},
                "fillcolor": fills[index % 2],
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
                "text": plain(short(heading, HEADING_CHARS)),
                "showarrow": False,
                "font": {"size": 12, "color": OUTLINE["heading"]},
            }
        )


def page_axes(layout: dict, backdrop: Backdrop, col: int) -> None:
    """Panel ``col``'s axes: x from 0 to the page width, y reversed (top of the
    page on top)."""
    step = 100 if backdrop.width <= 500 else 200 if backdrop.width <= 1600 else 400
    xaxis, yaxis = axis_names(col)
    layout[xaxis] |= {
        "range": [0, backdrop.width],
        # No 0: it would sit on the y axis's 0 in the top-left corner.
        "tickvals": list(range(step, backdrop.width + 1, step)),
        "showgrid": False,
        "zeroline": False,
        "side": "top",
        "constrain": "domain",
    }
    layout[yaxis] |= {
        "range": [backdrop.height, 0],
        "showgrid": False,
        "zeroline": False,
    }
