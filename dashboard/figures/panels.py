"""Panels side by side in one figure, as plain layout dicts.

Owns the one-row grid the page figures use (the heatmap with its reach column,
the attention map with its bars, the comparison's three pages): each panel's
axes and their share of the width, a y axis shared by all panels, titles above
them. It lays them out as Plotly's ``make_subplots(rows=1, cols=n,
shared_yaxes=True)`` does, without building its validated object model.
"""

from __future__ import annotations

from collections.abc import Sequence

# A subplot title's font, as make_subplots sets it.
TITLE_FONT = {"size": 16}


def axis_refs(col: int) -> tuple[str, str]:
    """How traces and shapes name panel ``col``'s axes (1-based): x, y, x2…"""
    suffix = "" if col == 1 else str(col)
    return f"x{suffix}", f"y{suffix}"


def axis_names(col: int) -> tuple[str, str]:
    """The layout keys of panel ``col``'s axes: xaxis, yaxis, xaxis2…"""
    x, y = axis_refs(col)
    return f"xaxis{x[1:]}", f"yaxis{y[1:]}"


def on_panel(trace: dict, col: int) -> dict:
    """``trace`` drawn on panel ``col``'s axes."""
    x, y = axis_refs(col)
    return trace | {"xaxis": x, "yaxis": y}


def panels(
    count: int,
    spacing: float,
    widths: Sequence[float] | None = None,
    titles: Sequence[str] = (),
) -> dict:
    """A layout of ``count`` panels in a row, ``spacing`` (a share of the
    figure's width) apart, as wide as ``widths`` say relative to each other
    (equal when None), the y axis of the first shared by the others (which show
    no tick labels), ``titles`` centred above them."""
    free = 1.0 - spacing * (count - 1)
    if widths is None:
        shares = [free / count] * count
    else:
        total = float(sum(widths))
        shares = [free * (w / total) for w in widths]
    layout: dict = {}
    annotations = []
    for index in range(count):
        start = sum(shares[:index]) + index * spacing
        domain = [max(0.0, start), min(1.0, start + shares[index])]
        (xaxis, yaxis), (x, y) = axis_names(index + 1), axis_refs(index + 1)
        layout[xaxis] = {"domain": domain, "anchor": y}
        layout[yaxis] = {"domain": [0.0, 1.0], "anchor": x}
        if index:
            layout[yaxis] |= {"matches": "y", "showticklabels": False}
        if index < len(titles) and titles[index]:
            annotations.append(
                {
                    "y": 1.0,
                    "xref": "paper",
                    "x": sum(domain) / 2.0,
                    "yref": "paper",
                    "text": titles[index],
                    "showarrow": False,
                    "font": dict(TITLE_FONT),
                    "xanchor": "center",
                    "yanchor": "bottom",
                }
            )
    if annotations:
        layout["annotations"] = annotations
    return layout
