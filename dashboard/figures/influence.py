"""Content influence on the sales pages: each item's credit for leads that
reached sales.

Owns the grouped bars of first-touch, last-touch and linear credit, most
influential on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from dashboard.figures.theme import BACKGROUND, INFLUENCE_COLOURS, plain, short

MAX_BARS = 15
LABEL_CHARS = 48


@dataclass(frozen=True)
class AttributionBar:
    """One content item's credit for leads that reached sales."""

    label: str
    url: str
    first_touch: int
    last_touch: int
    linear: float


def influence_figure(bars: Sequence[AttributionBar]) -> go.Figure:
    """Grouped horizontal bars: first-touch, last-touch and linear credit of the
    first :data:`MAX_BARS` items, in the order given (most influential on top)."""
    shown = list(bars)[:MAX_BARS]
    labels = [plain(short(b.label, LABEL_CHARS)) for b in shown]
    urls = [plain(b.url) for b in shown]
    figure = go.Figure()
    for key, name, values in (
        ("linear", "Linear", [b.linear for b in shown]),
        ("first", "First touch", [b.first_touch for b in shown]),
        ("last", "Last touch", [b.last_touch for b in shown]),
    ):
        figure.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=labels,
                x=values,
                customdata=urls,
                marker_color=INFLUENCE_COLOURS[key],
                hovertemplate=f"%{{customdata}}<br>{name}: %{{x}}<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="group",
        height=140 + 64 * max(len(shown), 1),
        margin={"l": 8, "r": 16, "t": 40, "b": 40},
        title={"text": "Credit for leads that reached sales", "x": 0},
        legend={"orientation": "h", "y": -0.12 if shown else 0},
        xaxis={"title": {"text": "leads credited"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    return figure
