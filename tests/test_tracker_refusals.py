"""One bad event never costs the others: the collector stores every valid event of
a batch, answers 200 naming the events it refused (204 when none), and refuses a
batch whole only when its envelope is bad or no event of it can be stored. The
same holds when a beacon goes through the inbox, and the refusals are counted in
``/metrics`` by reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from resonance.app import create_app
from resonance.core.models import Click, Identify, InboxBeacon, Lead, PageView
from tests.conftest import count, post_batch
from tests.factories import attention, batch, click, identify, pv, scroll
from tests.servers import wait_until
from tests.test_resonance_metrics import (
    TOKEN,
    change,
    metrics_config,
    scrape,
    value,
)
from tests.test_tracker_inbox import appending_app, drain, put_waiting

BAD_ADDRESSES = ["null", " ", "undefined", "nobody", "ann at example dot com"]


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The shared fixtures' app, with a metrics token (refusals are counted)."""
    app = create_app(metrics_config(database_url))
    yield app
    app.extensions["resonance.engine"].dispose()


@pytest.fixture
def inbox_app(database_url: str) -> Iterator[Flask]:
    """Every beacon through the inbox, answered before it is stored."""
    app = appending_app(database_url)
    yield app
    app.extensions["resonance.engine"].dispose()


def _event_ids(session, model) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(model.event_id)))


@pytest.mark.parametrize("email", BAD_ADDRESSES)
def test_a_bad_identify_costs_neither_its_page_view_nor_its_clicks_nor_later_batches(
    client, session, site, email
):
    view = pv()
    first_click, bad = click(view["id"]), identify(view["id"], email)

    answer = post_batch(client, batch(view, bad, first_click))

    assert answer.status_code == 200
    [refused] = answer.json["refused"]
    assert (refused["i"], refused["id"]) == (1, bad["id"])
    assert refused["error"].startswith("em: ")
    assert _event_ids(session, PageView) == {view["id"]}
    assert _event_ids(session, Click) == {first_click["id"]}
    assert count(session, Identify) == count(session, Lead) == 0

    later = click(view["id"])
    rest = [later, scroll(view["id"], 2400), attention(view["id"], 8000, [[0, 8000]])]
    assert post_batch(client, batch(*rest)).status_code == 204
    assert _event_ids(session, Click) == {first_click["id"], later["id"]}
    assert session.scalar(select(PageView.max_scroll_px)) == 2400


def test_a_batch_with_no_event_that_can_be_stored_is_still_a_400(client, site):
    answer = post_batch(client, batch(identify("pv0000000001", "null")))

    assert answer.status_code == 400
    assert answer.json["error"].startswith("e[0].em: ")


def test_events_of_a_page_view_never_stored_are_refused_beside_stored_ones(
    client, session, site
):
    view, orphan = pv(), click("pvneverstored")

    answer = post_batch(client, batch(view, orphan, click(view["id"])))

    assert answer.status_code == 200
    assert answer.json["refused"] == [
        {"i": 1, "id": orphan["id"], "error": "p: unknown page view 'pvneverstored'"}
    ]
    assert _event_ids(session, PageView) == {view["id"]}
    assert orphan["id"] not in _event_ids(session, Click)


def test_events_refused_one_by_one_are_counted_by_reason_and_the_rest_as_accepted(
    anon_client, site
):
    view = pv()
    body = batch(
        view,
        identify(view["id"], "null"),
        click("pvneverstored"),
        pv("pvbadurl001", url="javascript:alert(1)"),
        click("pvbadurl001"),
        click(view["id"]),
    )

    def send() -> None:
        assert post_batch(anon_client, body).status_code == 200

    moved = change(anon_client, send)

    refused = "resonance_beacon_events_refused_total"
    assert moved(refused, reason="invalid") == 2  # the identify, the page view
    assert moved(refused, reason="unknown_page_view") == 1
    assert moved(refused, reason="page_view_refused") == 1
    assert moved("resonance_beacons_accepted_total") == 1
    assert moved("resonance_beacon_events_accepted_total") == 2
    assert moved("resonance_beacons_refused_total", reason="invalid") == 0


@pytest.mark.parametrize("email", BAD_ADDRESSES)
def test_through_the_inbox_a_bad_identify_is_refused_in_the_answer_and_the_rest_stored(
    inbox_app, session, site, email
):
    client = inbox_app.test_client()
    view = pv()
    first_click = click(view["id"])

    answer = post_batch(client, batch(view, identify(view["id"], email), first_click))

    assert answer.status_code == 200
    assert [r["i"] for r in answer.json["refused"]] == [1]
    later = click(view["id"])
    assert post_batch(client, batch(later)).status_code == 204
    drain(inbox_app)
    assert _event_ids(session, PageView) == {view["id"]}
    assert _event_ids(session, Click) == {first_click["id"], later["id"]}
    assert count(session, Identify) == count(session, InboxBeacon) == 0


def test_the_drain_stores_a_beacon_without_the_events_only_it_can_refuse(
    inbox_app, session, site
):
    """The inbox answered 204 before anyone knew the page view was never stored:
    the drain leaves those events out, stores the rest and keeps nothing aside."""
    client = inbox_app.test_client()
    view, orphan = pv(), click("pvneversent2")

    answer = post_batch(client, batch(view, orphan, click(view["id"])))

    assert answer.status_code == 204
    drain(inbox_app)
    assert _event_ids(session, PageView) == {view["id"]}
    assert len(_event_ids(session, Click)) == 1
    assert orphan["id"] not in _event_ids(session, Click)
    assert count(session, InboxBeacon) == 0


def test_the_writers_drain_counts_the_events_it_refuses(database_url, site, session):
    """The inbox's late refusals show in /metrics: the writer drains the inbox
    in the worker (here the test's process) and counts them once stored."""
    inbox_app = appending_app(database_url, METRICS_TOKEN=TOKEN)
    name = "resonance_beacon_events_refused_total"
    try:
        client = inbox_app.test_client()
        before = scrape(client)
        view = pv()

        assert post_batch(client, batch(view, click("pvneversent3"))).status_code == 204

        def moved(reason: str) -> float:
            return value(scrape(client), name, reason=reason) - value(
                before, name, reason=reason
            )

        wait_until(lambda: moved("unknown_page_view") == 1)
        assert _event_ids(session, PageView) == {view["id"]}
        assert moved("invalid") == 0
    finally:
        inbox_app.extensions["resonance.engine"].dispose()


def test_events_of_a_page_view_waiting_in_the_inbox_wait_with_their_batch(
    app, session, site
):
    """Its page view went to another process, which is behind: the batch is
    stored from the inbox after it, its other events again (harmlessly)."""
    waiting, here = pv("pvelsewher2"), pv("pvrighthere")
    put_waiting(app, batch(waiting))
    late_click = click(waiting["id"])

    answer = post_batch(app.test_client(), batch(here, late_click))

    assert answer.status_code == 204
    wait_until(lambda: late_click["id"] in _event_ids(session, Click))
    assert _event_ids(session, PageView) == {waiting["id"], here["id"]}
    assert count(session, InboxBeacon) == 0
