"""Plotly figures of the dashboard: aggregated rows in, a figure out as plain
dicts and lists (``{"data": [...], "layout": {...}}``), what plotly.js reads.

Owns how every figure looks, one module per thing drawn: ``heatmap`` (clicks over
the page, with ``reach`` beside it), ``compare`` (two segments and their
difference), ``attention`` (time per section), ``depth`` (time per 100 px band of
the page, the attention map by depth), ``influence`` (credit for sales),
``trend`` (the content page's days).
``density``, ``backdrop`` and ``panels`` are the parts the page figures share,
``theme`` the look every figure shares, ``payload`` what a page embeds.

Plain dicts, not ``plotly.graph_objects``: Plotly's validation and object model
took most of a content page's time (about 150 ms of it) and the browser gets
the same JSON either way. The tests validate every figure with
``go.Figure(figure)`` instead (tests/test_dashboard_figure_json.py).

Figures take plain objects with the attributes they read (the queries'
dataclasses fit) and import no database, no Flask, no tracker and no queries
module, so every figure is testable from literal rows. Text that came from a
browser (headings, titles) is escaped before it goes into a label: Plotly renders
a subset of HTML in labels.

The views use the names below; tests of one figure import its module.
"""

from dashboard.figures.attention import attention_figure
from dashboard.figures.backdrop import Backdrop
from dashboard.figures.compare import compare_figure
from dashboard.figures.depth import depth_figure
from dashboard.figures.heatmap import heatmap_figure
from dashboard.figures.influence import AttributionBar, influence_figure
from dashboard.figures.payload import figure_json, figure_payload
from dashboard.figures.reach import ReachOverlay
from dashboard.figures.trend import trend_figure

__all__ = [
    "AttributionBar",
    "Backdrop",
    "ReachOverlay",
    "attention_figure",
    "compare_figure",
    "depth_figure",
    "figure_json",
    "figure_payload",
    "heatmap_figure",
    "influence_figure",
    "trend_figure",
]
