"""Attention by depth: the ``b`` pairs of an attention event (active ms per 100 px
band of the page, cumulative) are stored per page view and band, keeping the
maximum sent as sections do, so a re-sent or late batch changes nothing; and
they go with their page view when it is purged."""

from __future__ import annotations

from sqlalchemy import select

from resonance.core.clock import naive_utc
from resonance.core.models import AttentionBand, PageView
from tests.conftest import count, post_batch
from tests.factories import NOW_MS, attention, batch, pv
from tests.test_tracker_inbox import appending_app, drain
from tests.test_tracker_ingest_group import META, NOW, body
from tracker.ingest import ingest_many
from tracker.lifecycle import purge


def _bands(session, event_id: str) -> dict[int, int]:
    session.expire_all()
    rows = session.execute(
        select(AttentionBand.band, AttentionBand.ms)
        .join(PageView, PageView.id == AttentionBand.pageview_id)
        .where(PageView.event_id == event_id)
    )
    return dict(rows.all())


def test_bands_keep_the_most_time_each_was_sent_and_a_resent_batch_changes_nothing(
    client, session, site
):
    view = pv()
    first = attention(view["id"], 3000, [[0, 3000]], b=[[0, 3000], [9, 1500]])
    assert post_batch(client, batch(view, first)).status_code == 204

    later = attention(
        view["id"], 5000, [[0, 5000]], b=[[0, 2000], [9, 3500], [10, 900]]
    )
    assert post_batch(client, batch(later)).status_code == 204
    assert post_batch(client, batch(view, first, later)).status_code == 204

    assert _bands(session, view["id"]) == {0: 3000, 9: 3500, 10: 900}


def test_a_band_never_on_screen_is_no_row(client, session, site):
    view = pv()
    event = attention(view["id"], 1000, [], b=[[0, 1000], [1, 0]])

    assert post_batch(client, batch(view, event)).status_code == 204

    assert _bands(session, view["id"]) == {0: 1000}


def test_a_group_folds_the_bands_of_one_page_view_into_one_row_each(session, site):
    view = pv("pvgroupband")
    items = [
        (body(view, attention(view["id"], 900, [], b=[[2, 900]])), META, NOW),
        (body(attention(view["id"], 800, [], b=[[2, 800], [3, 400]])), META, NOW),
    ]

    assert ingest_many(session, items) == [2, 1]
    session.commit()

    assert _bands(session, "pvgroupband") == {2: 900, 3: 400}


def test_the_inbox_stores_the_bands_direct_ingest_would(database_url, session, site):
    inbox_app = appending_app(database_url)
    try:
        client = inbox_app.test_client()
        view = pv()
        event = attention(view["id"], 4000, [[0, 4000]], b=[[0, 4000], [5, 2500]])
        assert post_batch(client, batch(view, event)).status_code == 204
        drain(inbox_app)
    finally:
        inbox_app.extensions["resonance.engine"].dispose()

    assert _bands(session, view["id"]) == {0: 4000, 5: 2500}


def test_bands_are_purged_with_their_page_view(client, session, site):
    old_ms = NOW_MS - 500 * 86_400_000
    old, recent = pv(ts=old_ms), pv()
    for view, ts in ((old, old_ms + 1000), (recent, NOW_MS + 1000)):
        event = attention(view["id"], 2000, [], b=[[0, 2000], [1, 2000]], ts=ts)
        assert post_batch(client, batch(view, event)).status_code == 204
    assert count(session, AttentionBand) == 4

    purge(session, "13m", naive_utc())
    session.commit()

    assert _bands(session, old["id"]) == {}
    assert _bands(session, recent["id"]) == {0: 2000, 1: 2000}


def test_bands_beyond_the_first_100000_px_are_refused_alone(client, session, site):
    view = pv()
    event = attention(view["id"], 1000, [], b=[[1000, 1000]])

    answer = post_batch(client, batch(view, event))

    assert answer.status_code == 200
    assert answer.json["refused"][0]["error"].startswith("b[0][0]: ")
    assert count(session, AttentionBand) == 0
