"""The figures are plain dicts and lists, built without Plotly's object model, yet
each is a valid Plotly figure and the page gets the same JSON as when they were
built with ``plotly.graph_objects``.

``fixtures/figures_before.json`` holds, for every case of ``figure_cases``, the
page's JSON of the figure as the ``graph_objects`` builders made it (recorded
from them at commit 8d82a1d, the shared template left out, base64 arrays as a
digest of their text): a property dropped, added or changed fails here. One
change since, on purpose: a heatmap without a title no longer sends an empty
title (``"title": {}``), which Plotly ignores (``go.Figure`` drops it).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from figure_cases import CASES, HOSTILE, build
from flask import render_template_string

from dashboard import figures
from dashboard.figures.theme import TEMPLATE

BEFORE = json.loads(
    (Path(__file__).resolve().parent / "fixtures" / "figures_before.json").read_text(
        encoding="utf-8"
    )
)


def _digested(value):
    """``value`` with each base64 array's text replaced by its digest, as the
    fixture keeps them."""
    if isinstance(value, dict):
        if "bdata" in value:
            digest = hashlib.sha256(value["bdata"].encode()).hexdigest()[:32]
            return value | {"bdata": f"sha256:{digest}"}
        return {key: _digested(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_digested(item) for item in value]
    return value


def _without_template(payload: dict) -> dict:
    layout = {k: v for k, v in payload["layout"].items() if k != "template"}
    return {"data": payload["data"], "layout": layout}


def _plain(value) -> bool:
    """Only what JSON or a numpy array holds: no Plotly object anywhere."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, str | int | float | np.ndarray)


def test_the_cases_are_the_ones_recorded_from_the_graph_objects_builders():
    assert sorted(CASES) == sorted(BEFORE)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_figure_is_plain_data_that_plotly_accepts_as_a_valid_figure(case):
    figure = build(case)

    assert type(figure) is dict and set(figure) == {"data", "layout"}
    assert _plain(figure)
    # Validation raises on an unknown property or a value out of its range.
    validated = go.Figure(figure)
    assert len(validated.data) == len(figure["data"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_page_gets_the_json_the_graph_objects_builders_gave_it(case):
    payload = figures.figure_json(build(case))

    assert _digested(_without_template(payload)) == BEFORE[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_plotly_reads_each_figure_as_the_page_gets_it(case):
    """Validated by Plotly and written by its own JSON encoder, the figure is
    still the recorded one: Plotly neither dropped nor added a property."""
    validated = json.loads(go.Figure(build(case)).to_json())

    assert _digested(_without_template(validated)) == BEFORE[case]


def test_figures_keep_plotlys_default_template_their_look_came_from():
    payload = figures.figure_json(build("trend_few_views"))

    default = json.loads(pio.to_json(go.Figure()))["layout"]["template"]
    assert payload["layout"]["template"] == TEMPLATE == default


def test_numpy_arrays_are_written_as_plotlys_own_json_writes_them():
    arrays = {
        "small ints": np.array([[1, -2, 3], [4, 5, 6]]),
        "wide ints": np.array([70_000, -1]),
        "too wide for plotly.js": np.array([2**40, 1]),
        "unsigned": np.array([1, 300], dtype=np.uint64),
        "bytes": np.array([0, 255], dtype=np.uint8),
        "floats": np.array([0.5, np.nan]),
        "empty": np.array([]),
        "empty rows": np.zeros((0, 2), dtype=int),
    }
    for label, array in arrays.items():
        trace = {"type": "scatter", "customdata": array, "name": label}

        mine = figures.figure_json({"data": [trace]})["data"][0]
        plotlys = json.loads(go.Figure({"data": [trace]}).to_json())["data"][0]

        assert mine == plotlys, label


def test_values_from_the_queries_are_written_as_json_numbers_and_strings():
    trace = {
        "type": "bar",
        "x": [date(2026, 11, 3), datetime(2026, 11, 3, 12, 30)],
        "y": [Decimal("1.5"), np.int64(3)],
        "customdata": [[float("nan"), float("inf"), np.float32(0.25), np.bool_(True)]],
    }

    payload = figures.figure_json({"data": [trace]})

    data = payload["data"][0]
    assert data["x"] == ["2026-11-03", "2026-11-03T12:30:00"]
    assert data["y"] == [1.5, 3]
    # JSON.parse refuses NaN and Infinity: they are gaps (null), as Plotly wrote.
    assert data["customdata"] == [[None, None, 0.25, True]]
    json.dumps(payload, allow_nan=False)


def test_a_value_json_cannot_write_is_refused_not_written_as_text():
    with pytest.raises(TypeError, match="not JSON serialisable in a figure"):
        figures.figure_json({"data": [{"type": "bar", "x": [object()]}]})


def test_payload_adds_the_modebar_config_to_the_figure():
    payload = figures.figure_payload(build("trend_few_views"))

    assert set(payload) == {"data", "layout", "config"}
    assert payload["config"]["displaylogo"] is False


def test_text_from_browsers_cannot_end_the_script_element_it_is_embedded_in(app):
    """A heading, title or element name that closes the page's script element
    or opens an HTML comment stays inside the JSON: escaped for Plotly's labels
    by the figure, for HTML by ``tojson``."""
    hostile = f"</script><!--{HOSTILE}"
    backdrop = figures.Backdrop(800, 600, sections=[(hostile, 0, 300)])
    figure = figures.heatmap_figure([], backdrop, title=hostile)
    payload = figures.figure_payload(figure)

    with app.app_context():
        html = render_template_string(
            '<script type="application/json" id="fig">{{ figure | tojson }}</script>',
            figure=payload,
        )

    assert html.count("</script>") == 1 and html.endswith("</script>")
    assert "<!--" not in html and "<img" not in html
    embedded = json.loads(html.split(">", 1)[1].rsplit("<", 1)[0])
    assert embedded == payload
    assert embedded["layout"]["title"]["text"].startswith("&lt;/script&gt;&lt;!--")
