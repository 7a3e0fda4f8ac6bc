"""The wire format: what parses, and the message for what does not (pure).

The envelope is judged whole, each event alone: a bad event is refused with its
place and field while the others parse; a batch with no valid event is a 400."""

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

    events = parsed.batch.e
    assert [e.t for e in events] == ["pv", "c", "s", "l", "a", "id"]
    assert isinstance(events[1], ClickEvent) and events[1].in_ is True
    assert isinstance(events[5], IdentifyEvent)
    assert events[5].em == "jane@corp.com"
    assert parsed.places == (0, 1, 2, 3, 4, 5)
    assert parsed.refused == ()


def test_a_bad_event_is_refused_alone_with_its_place_id_and_field():
    view = pv()
    bad = click(view["p"], y=-1)
    parsed = parse(_body(batch(view, bad, scroll(view["p"], 900))))

    assert [e.t for e in parsed.batch.e] == ["pv", "s"]
    assert parsed.places == (0, 2)
    [refusal] = parsed.refused
    assert refusal.answer() == {
        "i": 1,
        "id": bad["id"],
        "error": "y: Input should be greater than or equal to 0",
    }
    assert refusal.located.startswith("e[1].y: ")


@pytest.mark.parametrize(
    "email", ["null", " ", "undefined", "nobody", "ann at example dot com"]
)
def test_an_identify_without_an_address_is_refused_and_its_page_view_kept(email):
    view = pv()
    parsed = parse(_body(batch(view, identify(view["p"], email), click(view["p"]))))

    assert [e.t for e in parsed.batch.e] == ["pv", "c"]
    [refusal] = parsed.refused
    assert (refusal.index, refusal.field, refusal.reason) == (1, "em", "invalid")


def test_an_event_that_is_not_even_an_object_is_refused_without_an_id():
    view = pv()
    parsed = parse(_body(batch(view, 42, {"t": "c", "id": "<b>"})))

    assert [r.answer()["id"] for r in parsed.refused] == [None, None]
    assert parsed.refused[0].error == "Input should be an object"


def test_a_nul_refuses_only_the_event_that_holds_it():
    view = pv()
    parsed = parse(_body(batch(view, pv(ti="a\u0000b"))))

    assert [e.id for e in parsed.batch.e] == [view["id"]]
    assert parsed.refused[0].error == "ti: strings must not contain NUL characters"


def test_error_names_the_event_and_field_when_no_event_is_valid():
    view = pv()
    with pytest.raises(BeaconError) as error:
        parse(_body(batch(click(view["p"], y=-1), identify(view["p"], "null"))))

    assert error.value.status == 400
    assert error.value.message.startswith("e[0].y: ")


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


def test_an_event_from_the_future_is_refused_alone():
    view = pv()
    late = click(view["p"], ts=NOW_MS + 6 * 60_000)
    now = datetime.fromtimestamp(NOW_MS / 1000, UTC)

    parsed = parse(_body(batch(view, late)), now=now)

    assert [e.t for e in parsed.batch.e] == ["pv"]
    assert parsed.refused[0].answer() == {
        "i": 1,
        "id": late["id"],
        "error": "ts: timestamp is in the future",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (batch(pv()) | {"s": ""}, "s: "),
        (batch(pv()) | {"v": "<script>"}, "v: "),
        (batch(pv()) | {"zz": 1}, "zz: "),
        (batch(pv()) | {"e": {"t": "pv"}}, "e: "),
        (batch(pv()) | {"s": "blog\u0000"}, "s: strings must not contain NUL"),
    ],
    ids=["empty site key", "bad visitor id", "unknown key", "e not a list", "NUL"],
)
def test_a_bad_envelope_refuses_the_whole_batch(body, message):
    with pytest.raises(BeaconError) as error:
        parse(_body(body))

    assert error.value.message.startswith(message)
