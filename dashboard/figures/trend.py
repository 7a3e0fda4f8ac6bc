"""The daily trend on the content page: page views as bars, visitors and the
median active time as lines, one point per day of the period.

Takes plain rows with ``day``, ``views``, ``visitors`` and ``median_active_s``
(the trend query's dataclass fits). Days are dates, never times: a day is the
site's day, and Plotly would otherwise draw it at midnight of the viewer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dashboard.figures.theme import BACKGROUND, HELD, INFLUENCE_COLOURS, MUTED


def trend_figure(days: Sequence[Any]) -> go.Figure:
    """Views per day (bars), visitors (line) and median active seconds (dotted
    line, right axis)."""
    x = [str(d.day) for d in days]
    traces = [
        go.Bar(
            name="Page views",
            x=x,
            y=[d.views for d in days],
            marker_color=INFLUENCE_COLOURS["first"],
            hovertemplate="%{x}: %{y} page views<extra></extra>",
        ),
        go.Scatter(
            name="Visitors",
            x=x,
            y=[d.visitors for d in days],
            mode="lines+markers" if len(days) <= 31 else "lines",
            line={"color": HELD},
            hovertemplate="%{x}: %{y} visitors<extra></extra>",
        ),
        go.Scatter(
            name="Median active (s)",
            x=x,
            y=[d.median_active_s for d in days],
            yaxis="y2",
            mode="lines",
            line={"color": MUTED, "dash": "dot"},
            hovertemplate="%{x}: median %{y} s active<extra></extra>",
        ),
    ]
    # The layout given whole to the constructor: update_layout walks each
    # key's path and took twice as long as building the rest.
    layout = dict(
        height=260,
        margin={"l": 40, "r": 40, "t": 16, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        xaxis={"type": "date", "tickformat": "%-d %b"},
        # Whole views: no "0.5" tick when a day has one or two.
        yaxis={
            "title": {"text": "views"},
            "rangemode": "tozero",
            "dtick": 1 if max((d.views for d in days), default=0) <= 5 else None,
        },
        yaxis2={
            "title": {"text": "s"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return go.Figure(data=traces, layout=layout)
