"""The collector end to end through Flask, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from conftest import BROWSER_UA, ORIGIN, count, post_batch
from factories import NOW_MS, attention, batch, click, identify, layout, pv, scroll
from sqlalchemy import select

from resonance.core.models import (
    BotHit,
    Click,
    Content,
    Identify,
    IdentityConflict,
    IdentityLink,
    Lead,
    PageSection,
    PageView,
    Site,
    Visitor,
    VisitSession,
)


def test_page_view_is_stored_with_cleaned_url_and_device(client, session, site):
    event = pv(url="https://Blog.Example.com/post/?utm_source=news&ref=joe@x.io#top")

    response = post_batch(client, batch(event))

    assert response.status_code == 204
    view = session.scalars(select(PageView)).one()
    assert view.url == "https://blog.example.com/post/?utm_source=news"
    assert view.utm_source == "news"
    assert view.referrer == "https://www.google.com/search"
    assert (view.viewport_w, view.viewport_h, view.doc_h) == (1440, 900, 3000)
    assert view.device == "desktop"
    assert view.title == "A post"
    content = session.get(Content, view.content_id)
    assert content.url == "https://blog.example.com/post"


def test_cors_headers_echo_an_allowed_origin(client, site):
    response = post_batch(client, batch(pv()))

    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_page_variants_share_one_content_item(client, session, site):
    urls = [
        "https://blog.example.com/guide",
        "https://BLOG.example.com/guide/",
        "https://blog.example.com/guide/index.html?utm_campaign=x",
        "https://blog.example.com:443/guide#part-2",
    ]
    for url in urls:
        assert post_batch(client, batch(pv(url=url))).status_code == 204

    assert count(session, PageView) == 4
    assert session.scalars(select(Content.url)).all() == [
        "https://blog.example.com/guide"
    ]


def test_device_class_follows_viewport_width(client, session, site):
    for width in (375, 767, 768, 1023, 1024):
        post_batch(client, batch(pv(vw=width)))

    devices = session.scalars(select(PageView.device).order_by(PageView.id)).all()
    assert devices == ["mobile", "mobile", "tablet", "tablet", "desktop"]


def test_clicks_keep_selector_fractions_and_clean_href(client, session, site):
    view = pv()
    post_batch(
        client,
        batch(
            view,
            click(view["p"], s="#cta", fx=0.25, fy=0.75, h="mailto:joe@x.io"),
            click(
                view["p"],
                s="main>p:nth-of-type(2)",
                tg="p",
                tx="",
                h=None,
                fx=0.5,
                **{"in": False},
            ),
        ),
    )

    rows = session.scalars(select(Click).order_by(Click.id)).all()
    assert [(c.selector, c.fx, c.fy, c.href, c.interactive) for c in rows] == [
        ("#cta", 0.25, 0.75, "mailto:", True),
        ("main>p:nth-of-type(2)", 0.5, 0.5, None, False),
    ]
    assert {c.content_id for c in rows} == {session.scalar(select(Content.id))}


def test_replayed_batch_is_stored_once(client, session, site):
    view = pv()
    body = batch(
        view, click(view["p"]), layout(view["p"]), identify(view["p"], "a@b.co")
    )

    assert post_batch(client, body).status_code == 204
    assert post_batch(client, body).status_code == 204

    assert count(session, PageView) == 1
    assert count(session, Click) == 1
    assert count(session, Identify) == 1
    assert count(session, IdentityConflict) == 0
    assert session.scalar(select(VisitSession.pageviews)) == 1


def test_events_may_refer_to_a_page_view_of_an_earlier_batch(client, session, site):
    view = pv()
    post_batch(client, batch(view))

    response = post_batch(client, batch(click(view["p"]), scroll(view["p"], 2400)))

    assert response.status_code == 204
    assert count(session, Click) == 1


def test_scroll_keeps_the_deepest_point_whatever_the_order(client, session, site):
    view = pv(vh=900, dh=3000)
    post_batch(client, batch(view, scroll(view["p"], 2400)))
    post_batch(client, batch(scroll(view["p"], 1500)))

    stored = session.scalars(select(PageView)).one()
    assert (stored.max_scroll_px, stored.max_scroll_pct) == (2400, 80.0)


def test_scroll_percentage_is_computed_from_depth_and_height_not_taken_from_f(
    client, session, site
):
    # Snippets before 2026-12 sent f = d / dh; it is accepted and never trusted.
    view = pv(vh=900, dh=3000)
    post_batch(client, batch(view, scroll(view["p"], 1500, 3000, f=1.0)))
    other = pv(vh=900, dh=3000)
    post_batch(client, batch(other, scroll(other["p"], 4000, 3200)))

    stored = session.scalars(select(PageView).order_by(PageView.id)).all()
    assert [(v.max_scroll_px, v.max_scroll_pct) for v in stored] == [
        (1500, 50.0),
        (4000, 100.0),
    ]


def test_attention_is_cumulative_per_section(client, session, site):
    view = pv()
    pid = view["p"]
    post_batch(client, batch(view, layout(pid), attention(pid, 4000, [[0, 3000]])))
    post_batch(client, batch(attention(pid, 9000, [[0, 5000], [1, 4000]])))
    # A late, stale event (lower values) changes nothing.
    post_batch(client, batch(attention(pid, 2000, [[0, 1000], [1, 1000]])))

    sections = session.scalars(select(PageSection).order_by(PageSection.idx)).all()
    assert [(s.idx, s.heading, s.active_ms) for s in sections] == [
        (0, "A post", 5000),
        (1, "Why it matters", 4000),
        (2, "How to start", 0),
    ]
    assert session.scalar(select(PageView.active_ms)) == 9000


def test_attention_before_layout_is_kept_when_layout_arrives(client, session, site):
    view = pv()
    pid = view["p"]
    post_batch(client, batch(view, attention(pid, 3000, [[1, 3000]])))
    post_batch(client, batch(layout(pid)))

    section = session.get(PageSection, (session.scalar(select(PageView.id)), 1))
    assert (section.heading, section.top_px, section.active_ms) == (
        "Why it matters",
        800,
        3000,
    )


def test_thirty_idle_minutes_start_a_new_session(client, session, site):
    minute = 60_000
    starts = [
        NOW_MS - 120 * minute,
        NOW_MS - 100 * minute,
        NOW_MS - 69 * minute,
        NOW_MS - 10 * minute,
    ]
    for ts in starts:
        post_batch(client, batch(pv(ts=ts)))

    visits = session.scalars(select(VisitSession).order_by(VisitSession.id)).all()
    assert [v.pageviews for v in visits] == [2, 1, 1]
    assert visits[0].last_seen_at - visits[0].started_at == timedelta(minutes=20)


def test_first_party_visitor_id_is_kept_across_batches(client, session, site):
    post_batch(client, batch(pv(), v="browserAAAA"))
    post_batch(client, batch(pv(), v="browserAAAA"))
    post_batch(client, batch(pv(), v="browserBBBB"))

    assert session.scalars(select(Visitor.uid).order_by(Visitor.id)).all() == [
        "c:browserAAAA",
        "c:browserBBBB",
    ]


def test_anonymous_site_hashes_visitors_and_ignores_client_ids(client, session, site):
    site.privacy_mode = "anonymous"
    session.commit()
    post_batch(client, batch(pv(), v="browserAAAA"))
    post_batch(client, batch(pv(), v="browserBBBB"))

    uids = session.scalars(select(Visitor.uid)).all()
    assert len(uids) == 1  # same IP and user agent, same day: one visitor
    assert uids[0].startswith("h:") and "127.0.0.1" not in uids[0]


def test_global_privacy_control_makes_a_visitor_anonymous(client, session, site):
    view = pv()
    post_batch(
        client,
        batch(view, identify(view["p"], "joe@x.io"), v="browserAAAA"),
        **{"Sec-GPC": "1"},
    )

    assert session.scalar(select(Visitor.uid)).startswith("h:")
    assert count(session, Identify) == 0
    assert count(session, Lead) == 0


def test_identify_links_earlier_anonymous_history(client, session, site):
    first, second = pv(ts=NOW_MS - 60_000), pv()
    post_batch(client, batch(first))
    post_batch(client, batch(second, identify(second["p"], "  Jane.Doe@Example.COM ")))

    lead = session.scalars(select(Lead)).one()
    assert lead.email == "jane.doe@example.com"
    link = session.scalars(select(IdentityLink)).one()
    assert link.lead_id == lead.id
    history = session.scalars(
        select(PageView.event_id).where(PageView.visitor_id == link.visitor_id)
    ).all()
    assert sorted(history) == sorted([first["p"], second["p"]])


def test_shared_browser_identifying_as_someone_else_is_a_conflict(
    client, session, site
):
    view = pv()
    post_batch(client, batch(view, identify(view["p"], "a@x.io")))
    post_batch(client, batch(identify(view["p"], "b@x.io")))

    link = session.scalars(select(IdentityLink)).one()
    assert session.get(Lead, link.lead_id).email == "a@x.io"
    conflict = session.scalars(select(IdentityConflict)).one()
    assert session.get(Lead, conflict.attempted_lead_id).email == "b@x.io"


def test_bots_are_stored_apart_from_visitors(client, session, site):
    response = post_batch(
        client,
        batch(pv()),
        **{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
    )

    assert response.status_code == 204
    assert count(session, BotHit) == 1
    assert count(session, Visitor) == 0
    assert count(session, PageView) == 0


def test_headless_chrome_is_a_bot(client, session, site):
    ua = BROWSER_UA.replace("Chrome/", "HeadlessChrome/")
    post_batch(client, batch(pv()), **{"User-Agent": ua})

    assert count(session, BotHit) == 1 and count(session, PageView) == 0


def test_beacon_without_origin_header_is_accepted(client, session, site):
    assert post_batch(client, batch(pv()), origin=None).status_code == 204


def test_application_json_is_accepted_too(client, session, site):
    response = post_batch(client, batch(pv()), **{"Content-Type": "application/json"})

    assert response.status_code == 204
    assert count(session, PageView) == 1


def test_config_endpoint_tells_the_privacy_mode(client, site):
    response = client.get("/e?s=blog")

    assert response.status_code == 200
    assert response.json == {"m": "always"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/e?s=nope").status_code == 404


def test_disabled_site_refuses_beacons(client, session, site):
    session.get(Site, site.id).enabled = False
    session.commit()

    response = post_batch(client, batch(pv()))

    assert response.status_code == 403
    assert count(session, PageView) == 0


def test_no_raw_ip_is_stored_anywhere(client, session, site):
    client.post(
        "/e",
        data=json.dumps(batch(pv())),
        headers={"User-Agent": BROWSER_UA, "Origin": ORIGIN},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )

    dump = "\n".join(
        str(row)
        for model in (Visitor, VisitSession, PageView, Content)
        for row in session.execute(select(model.__table__)).all()
    )
    assert "203.0.113.77" not in dump
    assert count(session, PageView) == 1


def test_rotated_browser_links_the_new_id_and_records_the_conflict(
    client, session, site
):
    first = pv()
    post_batch(client, batch(first, identify(first["p"], "a@x.io"), v="sharedAAAA"))
    second = pv()
    rotated = batch(
        second, identify(second["p"], "b@x.io"), v="freshBBBB", o="sharedAAAA"
    )

    assert post_batch(client, rotated).status_code == 204

    links = session.execute(
        select(Visitor.uid, Lead.email)
        .join(IdentityLink, IdentityLink.visitor_id == Visitor.id)
        .join(Lead, Lead.id == IdentityLink.lead_id)
        .order_by(Visitor.id)
    ).all()
    assert [tuple(row) for row in links] == [
        ("c:sharedAAAA", "a@x.io"),
        ("c:freshBBBB", "b@x.io"),
    ]
    conflict = session.scalars(select(IdentityConflict)).one()
    old_visitor = session.scalar(select(Visitor).where(Visitor.uid == "c:sharedAAAA"))
    assert conflict.visitor_id == old_visitor.id
    assert session.get(Lead, conflict.attempted_lead_id).email == "b@x.io"


def test_dead_and_error_flags_of_clicks_are_stored(client, session, site):
    view = pv()
    post_batch(
        client,
        batch(
            view,
            click(view["p"], tg="p", **{"in": False}, dd=True),
            click(view["p"], er=True),
        ),
    )

    flags = session.execute(select(Click.dead, Click.error).order_by(Click.id)).all()
    assert [tuple(f) for f in flags] == [(True, False), (False, True)]


def test_collector_and_api_answer_errors_in_json(client, site):
    wrong_method = client.put("/e")
    unknown = client.get("/api/nothing-here")

    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["Allow"]
    assert wrong_method.is_json and wrong_method.json["error"]
    assert unknown.status_code == 404 and unknown.json["error"]


def test_clicks_on_custom_elements_with_dots_are_kept(client, session, site):
    view = pv()
    response = post_batch(client, batch(view, click(view["p"], tg="my-app.card_x")))

    assert response.status_code == 204
    assert session.scalar(select(Click.tag)) == "my-app.card_x"


def test_beacon_answers_carry_cors_and_the_headers_every_answer_carries(client, site):
    """POST /e is answered before Flask: it still gets what Flask's hooks add."""
    stored = post_batch(client, batch(pv()))
    refused = post_batch(client, batch(pv(), s="nosuchsite"))

    assert stored.status_code == 204
    assert refused.status_code == 404
    assert refused.mimetype == "application/json"
    assert refused.json == {"error": "unknown site key 'nosuchsite'"}
    for answer in (stored, refused):
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert answer.headers["Vary"] == "Origin"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"


def test_the_flask_view_of_post_e_answers_like_the_collector(app, session, site):
    """The URL map offers POST /e (Allow, OPTIONS) and its view is the same
    collector, for whoever calls the Flask app past the WSGI handler."""
    beacon = json.dumps(batch(pv("pvviaview01"))).encode()
    headers = {"Origin": ORIGIN, "User-Agent": BROWSER_UA}
    with app.test_request_context("/e", method="POST", data=beacon, headers=headers):
        answer = app.view_functions["tracker.collect"]()

    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert session.scalars(select(PageView.event_id)).all() == ["pvviaview01"]
