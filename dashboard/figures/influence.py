"""Content influence on the sales pages: each item's credit for leads that
reached sales.

Owns the grouped bars of first-touch, last-touch and linear credit, most
influential on top. Labels are short, on at most two lines, so that on a phone
(about 320 px for the whole figure) the bars keep most of the width; the full
title and URL are in the hover.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.figures.theme import BACKGROUND, INFLUENCE_COLOURS, plain

MAX_BARS = 15
LINE_CHARS = 20
LABEL_LINES = 2


@dataclass(frozen=True)
class AttributionBar:
    """One content item's credit for leads that reached sales."""

    label: str
    url: str
    first_touch: int
    last_touch: int
    linear: float


def tick_label(title: str) -> str:
    """``title`` on at most :data:`LABEL_LINES` lines of :data:`LINE_CHARS`
    characters (long words cut, an ellipsis when shortened), escaped."""
    lines = textwrap.wrap(title, LINE_CHARS) or [""]
    if len(lines) > LABEL_LINES:
        lines = lines[:LABEL_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1].rstrip() + "…"
    return "<br>".join(plain(line) for line in lines)


def influence_figure(bars: Sequence[AttributionBar]) -> dict:
    """Grouped horizontal bars: first-touch, last-touch and linear credit of the
    first :data:`MAX_BARS` items, in the order given (most influential on top).

    Bars are placed by position, not by label: two titles that shorten to the
    same label stay two rows."""
    shown = list(bars)[:MAX_BARS]
    rows = list(range(len(shown)))
    hover = [[plain(b.label), plain(b.url)] for b in shown]
    data = [
        {
            "type": "bar",
            "name": name,
            "orientation": "h",
            "y": rows,
            "x": values,
            "customdata": hover,
            "marker": {"color": INFLUENCE_COLOURS[key]},
            "hovertemplate": (
                f"<b>%{{customdata[0]}}</b><br>%{{customdata[1]}}<br>"
                f"{name}: %{{x}}<extra></extra>"
            ),
        }
        for key, name, values in (
            ("linear", "Linear", [b.linear for b in shown]),
            ("first", "First touch", [b.first_touch for b in shown]),
            ("last", "Last touch", [b.last_touch for b in shown]),
        )
    ]
    layout = {
        "barmode": "group",
        "height": 140 + 64 * max(len(shown), 1),
        "margin": {"l": 8, "r": 16, "t": 40, "b": 40},
        "title": {"text": "Credit for leads that reached sales", "x": 0},
        "legend": {"orientation": "h", "y": -0.12 if shown else 0},
        "xaxis": {"title": {"text": "leads credited"}, "rangemode": "tozero"},
        "yaxis": {
            "autorange": "reversed",
            "automargin": True,
            "tickmode": "array",
            "tickvals": rows,
            "ticktext": [tick_label(b.label) for b in shown],
        },
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "font": {"family": "system-ui, sans-serif", "size": 13},
    }
    return {"data": data, "layout": layout}
