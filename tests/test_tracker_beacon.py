"""The wire format: what parses, and the message for what does not (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from factories import NOW_MS, attention, batch, click, identify, layout, pv, scroll

from tracker.beacon import BeaconError, ClickEvent, IdentifyEvent, parse


def _body(value) -> bytes:
    return json.dumps(value).encode()


def test_a_snippet_batch_parses_into_typed_events():
    view = pv()
    parsed = parse(
        _body(
            batch(
                view,
                click(view["p"]),
                scroll(view["p"], 1200),
                layout(view["p"]),
                attention(view["p"], 5000, [[0, 5000]]),
                identify(view["p"], " Jane@Corp.COM "),
            )
        )
    )

    assert [e.t for e in parsed.e] == ["pv", "c", "s", "l", "a", "id"]
    assert isinstance(parsed.e[1], ClickEvent) and parsed.e[1].in_ is True
    assert isinstance(parsed.e[5], IdentifyEvent)
    assert parsed.e[5].em == "jane@corp.com"


def test_error_names_the_event_and_field():
    view = pv()
    with pytest.raises(BeaconError) as error:
        parse(_body(batch(view, click(view["p"], y=-1))))

    assert error.value.status == 400
    assert error.value.message.startswith("e[1].y: ")


def test_error_on_the_site_key_names_it():
    with pytest.raises(BeaconError) as error:
        parse(_body(batch(pv()) | {"s": ""}))

    assert error.value.message.startswith("s: ")


def test_future_is_measured_against_the_given_clock():
    event = pv(ts=NOW_MS + 4 * 60_000)
    now = datetime.fromtimestamp(NOW_MS / 1000, UTC)

    assert parse(_body(batch(event)), now=now)
    with pytest.raises(BeaconError, match="future"):
        parse(_body(batch(pv(ts=NOW_MS + 6 * 60_000))), now=now)
