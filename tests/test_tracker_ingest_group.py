"""Group ingestion: several batches in one transaction store exactly what one by
one would, a refused batch stores nothing and takes no other down, and the
group-commit writer answers each request only after its own commit."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text

from resonance.core.models import (
    BotHit,
    Click,
    PageSection,
    PageView,
    Site,
    Visitor,
    VisitSession,
)
from tests.conftest import BROWSER_UA, ORIGIN, count, post_batch
from tests.factories import NOW_MS, attention, batch, click, layout, pv, scroll
from tracker import inbox, ingest
from tracker.beacon import BeaconError
from tracker.ingest import RequestMeta, ingest_many
from tracker.writer import store_group

META = RequestMeta(ip="203.0.113.9", user_agent=BROWSER_UA, origin=ORIGIN)
NOW = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(seconds=10)


def body(*events: dict, v: str = "visitor0001", s: str = "blog") -> bytes:
    return json.dumps(batch(*events, v=v, s=s)).encode()


def test_a_group_stores_every_batch_with_folded_maxima_and_sections(session, site):
    items = []
    for n in range(5):
        view = pv(f"pvgroup{n:04d}")
        events = [
            view,
            click(view["id"]),
            scroll(view["id"], 2500),
            layout(view["id"]),
            attention(view["id"], 9000, [[0, 4000], [2, 5000]]),
        ]
        items.append((body(*events, v=f"visitor{n:04d}"), META, NOW))
    assert ingest_many(session, items) == [5] * 5
    session.commit()
    assert count(session, PageView) == 5
    assert count(session, Click) == 5
    assert count(session, Visitor) == 5
    assert set(session.scalars(select(PageView.max_scroll_px))) == {2500}
    assert set(session.scalars(select(PageView.active_ms))) == {9000}
    sections = session.execute(
        select(PageSection.idx, PageSection.heading, PageSection.active_ms)
        .join(PageView, PageView.id == PageSection.pageview_id)
        .where(PageView.event_id == "pvgroup0000")
        .order_by(PageSection.idx)
    ).all()
    assert [tuple(row) for row in sections] == [
        (0, "A post", 4000),
        (1, "Why it matters", 0),
        (2, "How to start", 5000),
    ]


def test_a_visitors_first_view_is_the_earliest_stored_in_any_order(session, site):
    hour = 3_600_000
    late, early = pv("pvlate0001", ts=NOW_MS), pv("pvearly001", ts=NOW_MS - hour)
    for events in ([late], [early], [scroll(late["id"], 900)]):
        assert ingest_many(session, [(body(*events), META, NOW)]) == [len(events)]
        session.commit()
    session.expire_all()
    first = session.scalar(select(Visitor.first_view_at))
    assert first == min(session.scalars(select(PageView.viewed_at)))
    assert first == datetime.fromtimestamp((NOW_MS - hour) / 1000, UTC).replace(
        tzinfo=None
    )


def test_a_bots_beacon_in_a_group_is_filed_apart_and_the_visitors_beside_it_stored(
    session, site
):
    """Bot hits are written with the group's other rows: a group of bots alone
    stores them too, each with its page URL cleaned (a bad one left out)."""
    bot = RequestMeta(ip="203.0.113.7", user_agent="Googlebot/2.1", origin=ORIGIN)
    items = [
        (body(pv("pvbot000001", url="https://blog.example.com/a?x=1#top")), bot, NOW),
        (body(pv("pvperson001"), v="visitorperson"), META, NOW),
    ]
    assert ingest_many(session, items) == [0, 1]
    bad_url = pv("pvbotonly01", url="javascript:alert(1)")
    assert ingest_many(session, [(body(bad_url), bot, NOW)]) == [0]
    session.commit()

    assert session.scalars(select(PageView.event_id)).all() == ["pvperson001"]
    assert session.scalars(select(Visitor.uid)).all() == ["c:visitorperson"]
    hits = session.execute(select(BotHit.url, BotHit.user_agent).order_by(BotHit.id))
    assert [tuple(hit) for hit in hits] == [
        ("https://blog.example.com/a", "Googlebot/2.1"),
        (None, "Googlebot/2.1"),
    ]


def test_a_refused_batch_in_a_group_stores_nothing_and_the_others_are_stored(
    session, site
):
    items = [
        (body(pv("pvgood0001"), v="visitorgood"), META, NOW),
        (body(pv("pvbadurl01", url="javascript:alert(1)"), v="visitorbad"), META, NOW),
        (body(scroll("pvnowhere1", 100), v="visitororphan"), META, NOW),
        (b"{not json", META, NOW),
    ]
    results = ingest_many(session, items)
    session.commit()
    assert results[0] == 1
    assert all(isinstance(r, BeaconError) for r in results[1:])
    assert [r.status for r in results[1:]] == [400, 400, 400]
    assert session.scalars(select(PageView.event_id)).all() == ["pvgood0001"]
    assert session.scalars(select(Visitor.uid)).all() == ["c:visitorgood"]


def test_a_batch_may_refer_to_a_page_view_an_earlier_batch_of_the_group_holds(
    session, site
):
    view = pv("pvfirst0001")
    later = scroll(view["id"], 2500)
    items = [(body(later), META, NOW), (body(view), META, NOW)]
    items.append((body(later), META, NOW))
    results = ingest_many(session, items)
    session.commit()
    assert isinstance(results[0], BeaconError)  # its page view came after it
    assert results[1:] == [1, 1]
    assert session.scalar(select(PageView.max_scroll_px)) == 2500


def test_sessions_in_a_group_follow_the_thirty_minute_rule(session, site):
    minutes = [0, 10, 45]
    start = NOW_MS - 3_600_000
    items = [
        (body(pv(f"pvvisit{n:04d}", ts=start + m * 60_000)), META, NOW)
        for n, m in enumerate(minutes)
    ]
    assert ingest_many(session, items) == [1, 1, 1]
    session.commit()
    visits = session.scalars(
        select(VisitSession.pageviews).order_by(VisitSession.started_at)
    ).all()
    assert visits == [2, 1]
    first, second, third = session.scalars(
        select(PageView.session_id).order_by(PageView.viewed_at)
    ).all()
    assert first == second != third


def test_a_batch_resent_within_its_group_is_stored_once(session, site):
    view = pv("pvtwice0001")
    events = (view, click(view["id"]))
    assert ingest_many(session, [(body(*events), META, NOW)] * 3) == [2, 2, 2]
    session.commit()
    assert count(session, PageView) == 1
    assert count(session, Click) == 1
    assert session.scalar(select(VisitSession.pageviews)) == 1


def test_a_group_failing_in_the_database_is_stored_batch_by_batch(app, session, site):
    """A site deleted while the collector still has it cached: its batch fails in
    the database (foreign key), the writer retries each batch alone, and only the
    one that cannot be stored fails."""
    gone = Site(
        key="gone",
        name="Gone",
        allowed_origins=["*"],
        privacy_mode="always",
        enabled=True,
        created_at=NOW.replace(tzinfo=None),
    )
    session.add(gone)
    session.commit()
    sessionmaker = app.extensions["resonance.sessionmaker"]
    first = body(pv("pvdoomed001"), s="gone")
    assert store_group(sessionmaker, [(first, META, NOW)]) == [1]  # cached now
    session.execute(delete(Site).where(Site.key == "gone"))
    session.commit()
    kept = body(pv("pvkept00001"))
    doomed = body(pv("pvdoomed002"), s="gone")
    results = store_group(sessionmaker, [(kept, META, NOW), (doomed, META, NOW)])
    assert results[0] == 1
    assert isinstance(results[1], Exception)
    assert not isinstance(results[1], BeaconError)
    assert session.scalars(select(PageView.event_id)).all() == ["pvkept00001"]


def test_a_lone_beacon_whose_page_view_another_process_stores_meanwhile_is_stored_once(
    app, session, site, monkeypatch
):
    """The snippet sends a batch again while the first is on its way (a page
    going away): another process commits the same page view between this
    transaction's reads and its writes. The constraint fails; the second try
    finds the page view, so the request is answered, not failed with a 500."""
    sessionmaker = app.extensions["resonance.sessionmaker"]
    view = pv("pvracing001")
    beacon = body(view, click(view["id"]))
    write = ingest._write
    raced: list[list] = []

    def write_after_the_other_process(plan, commit: bool = False) -> None:
        if not raced:  # (the other process's own write goes straight through)
            raced.append([])
            with sessionmaker() as other:
                raced[0] = ingest_many(other, [(beacon, META, NOW)])
                other.commit()
        write(plan, commit)

    monkeypatch.setattr(ingest, "_write", write_after_the_other_process)
    assert store_group(sessionmaker, [(beacon, META, NOW)]) == [2]
    assert raced == [[2]]
    assert count(session, PageView) == 1
    assert count(session, Click) == 1
    assert session.scalar(select(VisitSession.pageviews)) == 1


def test_concurrent_requests_are_each_answered_after_their_commit(
    client, session, site
):
    """Requests arriving together share transactions; every 204 is committed
    before it is answered (stored, or in the inbox), and stored once drained."""
    statuses: list[int] = []

    def send(n: int) -> None:
        beacon = batch(pv(f"pvconc{n:05d}"), v=f"visitor{n:04d}")
        statuses.append(
            post_batch(client.application.test_client(), beacon).status_code
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [204] * 24
    committed = "SELECT (SELECT count(*) FROM pageviews) + (SELECT count(*) FROM inbox)"
    assert session.execute(text(committed)).scalar() == 24
    inbox.drain_all(client.application.extensions["resonance.sessionmaker"])
    assert count(session, PageView) == 24


def test_a_stopped_writer_ends_its_thread_and_a_new_beacon_starts_another(
    client, session, site
):
    app = client.application
    assert post_batch(client, batch(pv("pvbeforestop"))).status_code == 204
    writer = app.extensions["resonance.writer"]
    thread = writer._thread
    assert thread is not None and thread.is_alive()

    writer.stop()

    assert not thread.is_alive()
    assert post_batch(client, batch(pv("pvafterstop1"))).status_code == 204
    assert count(session, PageView) == 2
