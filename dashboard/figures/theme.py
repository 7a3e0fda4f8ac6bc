"""The look every dashboard figure shares: palettes, background, ink, margins,
and how label text is made safe and short.

Owns every colour a figure uses, so that the palettes are chosen and checked for
colour vision deficiency in one place, and a figure module only says where each
colour goes; and the template under every figure's own layout.
"""

from __future__ import annotations

import html
import json
from importlib import resources

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
# Okabe-Ito colours of the influence bars: told apart with every common colour
# vision deficiency.
INFLUENCE_COLOURS = {"first": "#56b4e9", "last": "#e69f00", "linear": "#0072b2"}
# Attention by depth, hot = long: inferno (matplotlib's perceptually uniform
# scale, black through purple and red to pale yellow), readable with any colour
# vision and in grey. Over the page it fades in from transparent, so the page
# shows where nobody looked and stays readable where few did; the bars beside
# the page use the same colours, opaque.
_INFERNO = [
    (0.0, (0, 0, 4), 0.0),
    (0.1, (40, 11, 84), 0.3),
    (0.3, (120, 28, 109), 0.5),
    (0.55, (187, 55, 84), 0.62),
    (0.8, (249, 142, 9), 0.72),
    (1.0, (252, 255, 164), 0.8),
]
DEPTH_SCALE = [[at, f"rgba({r},{g},{b},{alpha})"] for at, (r, g, b), alpha in _INFERNO]
DEPTH_BAR_SCALE = [[at, f"rgb({r},{g},{b})"] for at, (r, g, b), _ in _INFERNO]
# Attention bars: a section where readers stop, one held longer than its reading
# time; the rest are MUTED.
STOP = "#d92d20"
HELD = "#3b5bdb"
MUTED = "#98a2b3"

# Heat drawn over a screenshot: the page stays readable under it.
DEFAULT_OPACITY = 0.8
BACKGROUND = "#ffffff"
# Lines and labels drawn over the page (reach marks, the fold, expected times).
INK = "#101828"
# The page outline drawn when there is no screenshot: frame, section bands
# (alternating fills) and their headings.
OUTLINE = {
    "frame": MUTED,
    "band_line": "#d0d5dd",
    "band_fills": ("#f9fafb", "#eef1f6"),
    "heading": "#667085",
}
# Margins of the page figures (heatmap, comparison), in CSS px.
MARGIN = {"l": 48, "r": 16, "t": 40, "b": 24}
NBSP = "\u00a0"
# Plotly's default template ("plotly": fonts, axis and grid lines, hover labels),
# which the figures have always been drawn in, read as the JSON it ships as:
# building it through plotly.io takes a third of a second.
TEMPLATE = json.loads(
    (resources.files("plotly") / "package_data/templates/plotly.json").read_text(
        encoding="utf-8"
    )
)


def short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: a long heading or
    title would push the figure's plot area aside."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str) -> str:
    """Text for a Plotly label, which reads ``<b>``, ``<a href>`` and friends as
    markup: escaped so a heading or title from a browser is shown, never
    interpreted. Quotes stay as they are: outside a tag they mean nothing to
    Plotly, and it would show ``&quot;`` literally."""
    return html.escape(text, quote=False)
