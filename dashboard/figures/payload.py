"""What a dashboard page embeds of a figure: its data and layout as JSON-native
values, in the look every figure shares, with the modebar configuration.

Owns the modebar: no Plotly logo, no "Share chart" (it would upload the figure
to Plotly's cloud), a PNG export. Owns too how the figures' values become JSON
the browser's Plotly reads, as Plotly's own ``to_json`` made them: numpy arrays
as base64 typed arrays (a heat layer of a long page is a large grid of bytes),
numpy scalars as numbers, NaN and infinities as null (``JSON.parse`` refuses
them), dates as ISO strings, decimals (PostgreSQL's numerics) as numbers.

The page embeds the result with Jinja's ``tojson``, which escapes ``<``, ``>``,
``&`` and ``'``: a ``</script>`` or ``<!--`` in a title cannot end the script
element it is in.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from dashboard.figures.theme import TEMPLATE

CONFIG = {
    "displaylogo": False,
    "responsive": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendChartToCloud"],
    "showSendToCloud": False,
    "toImageButtonOptions": {"format": "png", "filename": "resonance-heatmap"},
}
# numpy dtypes that plotly.js reads from base64, by its short names.
TYPED = {
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}
# 64-bit integers plotly.js cannot read: the narrowest type that holds them.
NARROWER = {
    "int64": (np.int8, np.int16, np.int32),
    "uint64": (np.uint8, np.uint16, np.uint32),
}


def figure_payload(fig: dict) -> dict:
    """What the page embeds: data, layout and the shared config (with the
    modebar's PNG export)."""
    return figure_json(fig) | {"config": CONFIG}


def figure_json(fig: dict) -> dict:
    """The figure's data and layout as JSON-native values, the shared look
    (:data:`TEMPLATE`) under its own layout."""
    figure = {
        "data": fig.get("data", []),
        "layout": {"template": TEMPLATE, **fig.get("layout", {})},
    }
    text = json.dumps(figure, default=_native)
    return json.loads(text, parse_constant=lambda _: None)


def _native(value: Any) -> Any:
    """What ``json`` cannot write itself, as plotly.js reads it."""
    if isinstance(value, np.ndarray):
        return _typed_array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable in a figure: {type(value).__name__}")


def _typed_array(array: np.ndarray) -> Any:
    """A numeric array as plotly.js's typed array (``dtype``, base64 ``bdata``,
    ``shape`` when it has rows); other arrays, and empty ones, as lists."""
    if array.size and array.dtype.name in NARROWER:
        low, high = array.min(), array.max()
        for narrower in NARROWER[array.dtype.name]:
            limits = np.iinfo(narrower)
            if limits.min <= low and high <= limits.max:
                array = array.astype(narrower)
                break
    short = TYPED.get(array.dtype.name)
    if not array.size or short is None:
        return array.tolist()
    typed = {
        "dtype": short,
        "bdata": base64.b64encode(np.ascontiguousarray(array)).decode("ascii"),
    }
    if array.ndim > 1:
        typed["shape"] = ", ".join(str(n) for n in array.shape)
    return typed
