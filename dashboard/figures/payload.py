"""What a dashboard page embeds of a figure: its data and layout as JSON, with
the modebar configuration every figure shares.

Owns the modebar: no Plotly logo, no "Share chart" (it would upload the figure
to Plotly's cloud), a PNG export.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

CONFIG = {
    "displaylogo": False,
    "responsive": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendChartToCloud"],
    "showSendToCloud": False,
    "toImageButtonOptions": {"format": "png", "filename": "resonance-heatmap"},
}


def figure_payload(fig: go.Figure) -> dict:
    """What the page embeds: data, layout and the shared config (with the
    modebar's PNG export)."""
    payload = json.loads(fig.to_json())
    return {"data": payload["data"], "layout": payload["layout"], "config": CONFIG}
