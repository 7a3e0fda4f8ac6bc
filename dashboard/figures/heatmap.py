"""The click heatmap of a content page, with its scroll reach beside it.

Owns how the heat layer, the hover counts, the backdrop and the reach column are
put together into one figure at one page pixel per screen pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.figures.backdrop import (
    Backdrop,
    Decor,
    draw_backdrop,
    page_axes,
    page_scale,
)
from dashboard.figures.density import (
    COUNTS,
    GridBinLike,
    click_density,
    density_trace,
    hover_trace,
    quantised,
)
from dashboard.figures.panels import on_panel, panels
from dashboard.figures.reach import REACH_COL_W, ReachOverlay, draw_reach
from dashboard.figures.theme import BACKGROUND, MARGIN, plain, short

NAME_CHARS = 60  # the hover's element name
SELECTOR_CHARS = 80  # and its selector beneath


def heatmap_figure(
    bins: Sequence[GridBinLike],
    backdrop: Backdrop,
    reach: ReachOverlay | None = None,
    bin_px: int = 8,
    title: str = "",
) -> dict:
    """The click heatmap over the page at 1:1 scale, with scroll reach beside it
    on the same y axis when given."""
    density = click_density(bins, backdrop.width, backdrop.height, bin_px)
    extra = REACH_COL_W if reach else 0
    scale = page_scale(backdrop.width, backdrop.height, extra)
    page_w = backdrop.width * scale
    if reach:
        layout = panels(2, 12 / (page_w + extra), [page_w, REACH_COL_W])
    else:
        layout = panels(1, 0.02)
    data = [
        on_panel(
            density_trace(quantised(density, density.max()), bin_px, name="clicks"), 1
        ),
        on_panel(element_hover_trace(bins, bin_px), 1),
    ]
    decor = Decor()
    draw_backdrop(decor, backdrop, "x", "y")
    page_axes(layout, backdrop, 1)
    layout["yaxis"] |= {"scaleanchor": "x", "scaleratio": 1}
    if reach:
        draw_reach(data, layout, decor, reach, backdrop)
    decor.apply(layout)
    if title:
        layout["title"] = {"text": plain(title), "x": 0, "font": {"size": 14}}
    layout |= {
        "width": round(page_w + extra + 12 + MARGIN["l"] + MARGIN["r"]),
        "height": round(backdrop.height * scale + MARGIN["t"] + MARGIN["b"]),
        "margin": dict(MARGIN),
        "plot_bgcolor": BACKGROUND,
        "paper_bgcolor": BACKGROUND,
        "showlegend": False,
        "hovermode": "closest",
        "dragmode": "pan",
    }
    return {"data": data, "layout": layout}


def element_hover_trace(bins: Sequence[GridBinLike], bin_px: int) -> dict:
    """Hover markers that name the element clicked most in each square, its
    selector beneath in grey, then the counts (the plain counts when the bins
    carry no names). Names and selectors come from browsers: escaped."""
    trace = hover_trace(bins, bin_px)
    names = [getattr(b, "name", "") for b in bins]
    if not any(names):
        return trace
    selectors = [getattr(b, "selector", "") for b in bins]
    # Escaped once per distinct text: one element covers many squares, and a
    # busy page has tens of thousands of them.
    shown_names = {n: plain(short(n, NAME_CHARS)) for n in set(names)}
    shown_selectors = {s: plain(short(s, SELECTOR_CHARS)) for s in set(selectors)}
    trace["customdata"] = [
        [b.clicks, b.views, shown_names[name], shown_selectors[selector]]
        for b, name, selector in zip(bins, names, selectors, strict=True)
    ]
    trace["hovertemplate"] = (
        "<b>%{customdata[2]}</b><br><span style='color:#888'>%{customdata[3]}</span>"
        f"<br>{COUNTS}<extra></extra>"
    )
    return trace
