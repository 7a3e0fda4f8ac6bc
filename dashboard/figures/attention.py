"""Attention per section: how long views stayed on each part of a page.

Owns the bars of active seconds per view in page order (headings indented by
level), their colours (where readers stop, where they stay longer than the
reading time) and the expected reading time as a marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dashboard.figures.theme import (
    BACKGROUND,
    HELD,
    INK,
    MUTED,
    NBSP,
    STOP,
    plain,
    short,
)

LABEL_CHARS = 48


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
    def left_pct(self) -> float: ...
    @property
    def expected_s(self) -> float | None: ...
    @property
    def held_longer(self) -> bool: ...
    @property
    def readers_stop(self) -> bool: ...


def attention_figure(sections: Sequence[SectionLike]) -> dict:
    """Average active seconds per view of each section (page order, top down),
    with the expected reading time as a marker where the page was crawled."""
    labels = [
        f"{NBSP * 3 * (s.level - 1)}{plain(short(s.heading, LABEL_CHARS))}"
        for s in sections
    ]
    colours = [
        STOP if s.readers_stop else HELD if s.held_longer else MUTED for s in sections
    ]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": [s.avg_active_s for s in sections],
            "marker": {"color": colours},
            "customdata": [[s.reached_pct, s.left_pct] for s in sections],
            "text": [
                f"{s.avg_active_s:g} s · {s.reached_pct:g}% reached" for s in sections
            ],
            "textposition": "auto",
            "hovertemplate": "%{y}<br>%{x} s per view reaching it · "
            "%{customdata[0]}% reached · %{customdata[1]}% left here<extra></extra>",
            "name": "active",
        }
    ]
    known = [
        (label, s.expected_s)
        for label, s in zip(labels, sections, strict=True)
        if s.expected_s is not None
    ]
    if known:
        data.append(
            {
                "type": "scatter",
                "y": [label for label, _ in known],
                "x": [e for _, e in known],
                "mode": "markers",
                "marker": {"symbol": "line-ns-open", "size": 18, "color": INK},
                "hovertemplate": "expected %{x} s<extra></extra>",
                "name": "expected",
            }
        )
    layout = {
        "yaxis": {
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": labels,
            "automargin": True,
        },
        "xaxis": {
            "title": {"text": "active seconds per view"},
            "rangemode": "tozero",
        },
        "height": max(160, 36 * len(sections) + 90),
        "margin": {"l": 16, "r": 16, "t": 16, "b": 48},
        "showlegend": False,
        "plot_bgcolor": BACKGROUND,
        "paper_bgcolor": BACKGROUND,
        "bargap": 0.3,
    }
    return {"data": data, "layout": layout}
