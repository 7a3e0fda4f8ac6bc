"""The daily trend on the content page: page views as bars, visitors and the
median active time as lines, one point per day of the period.

Takes plain rows with ``day``, ``views``, ``visitors`` and ``median_active_s``
(the trend query's dataclass fits). Days are dates, never times: a day is the
site's day, and Plotly would otherwise draw it at midnight of the viewer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.figures.theme import BACKGROUND, HELD, INFLUENCE_COLOURS, MUTED


def trend_figure(days: Sequence[Any]) -> dict:
    """Views per day (bars), visitors (line) and median active seconds (dotted
    line, right axis)."""
    x = [str(d.day) for d in days]
    traces = [
        {
            "type": "bar",
            "name": "Page views",
            "x": x,
            "y": [d.views for d in days],
            "marker": {"color": INFLUENCE_COLOURS["first"]},
            "hovertemplate": "%{x}: %{y} page views<extra></extra>",
        },
        {
            "type": "scatter",
            "name": "Visitors",
            "x": x,
            "y": [d.visitors for d in days],
            "mode": "lines+markers" if len(days) <= 31 else "lines",
            "line": {"color": HELD},
            "hovertemplate": "%{x}: %{y} visitors<extra></extra>",
        },
        {
            "type": "scatter",
            "name": "Median active (s)",
            "x": x,
            "y": [d.median_active_s for d in days],
            "yaxis": "y2",
            "mode": "lines",
            "line": {"color": MUTED, "dash": "dot"},
            "hovertemplate": "%{x}: median %{y} s active<extra></extra>",
        },
    ]
    yaxis = {"title": {"text": "views"}, "rangemode": "tozero"}
    if max((d.views for d in days), default=0) <= 5:
        yaxis["dtick"] = 1  # whole views: no "0.5" tick when a day has one or two
    layout = {
        "height": 260,
        "margin": {"l": 40, "r": 40, "t": 16, "b": 40},
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"type": "date", "tickformat": "%-d %b"},
        "yaxis": yaxis,
        "yaxis2": {
            "title": {"text": "s"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "font": {"family": "system-ui, sans-serif", "size": 12},
    }
    return {"data": traces, "layout": layout}
