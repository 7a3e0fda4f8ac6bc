"""The sites page, the installation check, the real-time panel and the error
pages, through the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

import pytest
from conftest import ORIGIN, count, csrf_headers, form_csrf_token, post_batch
from factories import NOW_MS, batch, pv
from sqlalchemy import select

from dashboard.queries.sites import recent_views
from resonance.core.models import Site
from tracker.sites import create_site

FORM = {
    "name": "Company blog",
    "key": "",
    "origins": "https://www.example.com\nhttp://localhost:3000/",
    "privacy_mode": "consented",
    "reached_sales_stage": "opportunity",
    "timezone": "Europe/Paris",
    "internal_domains": "@Example.com, example.org",
}


def _errors(html: str) -> dict[str, str]:
    """The field errors shown beside the fields, by field name."""
    found = re.findall(r'<span class="error" id="err-([a-z_]+)">([^<]*)</span>', html)
    return dict(found)


def test_adding_a_site_stores_every_setting_and_opens_its_setup_page(client, session):
    response = client.post(
        "/dash/sites/new",
        data=FORM,
        headers=csrf_headers(client),
    )

    site = session.scalars(select(Site)).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/dash/sites/{site.key}/settings?added=1"
    assert (site.name, site.privacy_mode, site.reached_sales_stage) == (
        "Company blog",
        "consented",
        "opportunity",
    )
    assert site.allowed_origins == ["https://www.example.com", "http://localhost:3000"]
    assert (site.timezone, site.internal_domains) == (
        "Europe/Paris",
        ["example.com", "example.org"],
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Site added." in page
    assert f"data-site=&#34;{site.key}&#34;" in page
    assert "src=&#34;http://localhost/r.js&#34;" in page
    assert "waiting for the first event…" in page


def test_a_bad_form_shows_each_error_beside_its_field_and_stores_nothing(
    client, session, site
):
    bad = FORM | {
        "name": " ",
        "key": "blog",
        "origins": "https://<b>",
        "privacy_mode": "sometimes",
        "reached_sales_stage": "closed",
        "timezone": "Mars/Olympus",
        "internal_domains": "not a domain",
    }

    response = client.post(
        "/dash/sites/new",
        data=bad,
        headers=csrf_headers(client),
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _errors(html) == {
        "name": "a site needs a name",
        "key": "the key &#39;blog&#39; is taken",
        "origins": "&#39;https://&lt;b&gt;&#39; is not an origin: bad host name",
        "privacy_mode": "must be one of anonymous, consented, always",
        "reached_sales_stage": "must be one of subscriber, lead, mql, sql, "
        "opportunity, customer, evangelist",
        "timezone": "&#39;Mars/Olympus&#39; is not an IANA time zone like Europe/Paris",
        "internal_domains": "&#39;not a domain&#39; is not a domain like example.com",
    }
    assert 'aria-invalid="true" aria-describedby="err-origins"' in html
    assert "Mars/Olympus" in html  # what was typed is kept
    assert count(session, Site) == 1


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("https://www.example.com/blog", "has a path or query"),
        ("www.example.com", "is not an origin like https://example.com"),
        ("ftp://files.example.com", "not an http(s) URL"),
        ("https://user:pw@example.com", "no user name or password"),
        ("https://example.com:99999", "is not an origin"),
        ("https://example.com?x=1", "has a path or query"),
    ],
)
def test_origins_must_be_scheme_host_and_port_only(client, session, origins, message):
    response = client.post(
        "/dash/sites/new",
        data=FORM | {"origins": origins},
        headers=csrf_headers(client),
    )

    assert response.status_code == 400
    assert message in _errors(response.get_data(as_text=True))["origins"]
    assert count(session, Site) == 0


def test_editing_a_site_changes_its_settings_and_the_collector_follows(
    client, session, site
):
    moved = "https://news.example.com"
    refused = post_batch(client, batch(pv(url=moved + "/a")), origin=moved)

    response = client.post(
        "/dash/sites/blog/settings",
        data=FORM | {"name": "Blog", "origins": f"{ORIGIN}\n{moved}"},
        headers=csrf_headers(client),
    )
    accepted = post_batch(client, batch(pv(url=moved + "/a")), origin=moved)

    session.expire_all()
    assert refused.status_code == 403
    assert response.status_code == 303
    assert response.headers["Location"] == "/dash/sites/blog/settings?saved=1"
    assert accepted.status_code == 204
    assert site.allowed_origins == [ORIGIN, moved]
    assert site.timezone == "Europe/Paris"


def test_a_refused_edit_changes_nothing(client, session, site):
    response = client.post(
        "/dash/sites/blog/settings",
        data=FORM | {"name": "Renamed", "timezone": "Nowhere/Town"},
        headers=csrf_headers(client),
    )

    session.expire_all()
    assert response.status_code == 400
    assert "Nowhere/Town" in _errors(response.get_data(as_text=True))["timezone"]
    assert (site.name, site.timezone) == ("Blog", "UTC")


def test_forms_carry_a_csrf_token_the_session_accepts(client, session, site):
    # The token is signed with a timestamp, so it is proved by being accepted,
    # not by comparing strings rendered in different seconds.
    new = form_csrf_token(client.get("/dash/sites/new").get_data(as_text=True))
    edit = form_csrf_token(
        client.get("/dash/sites/blog/settings").get_data(as_text=True)
    )

    added = client.post("/dash/sites/new", data=FORM | {"csrf_token": new})
    edited = client.post(
        "/dash/sites/blog/settings", data=FORM | {"name": "Renamed", "csrf_token": edit}
    )

    session.expire_all()
    assert (added.status_code, edited.status_code) == (303, 303)
    assert count(session, Site) == 2 and site.name == "Renamed"


def test_a_form_without_the_csrf_token_is_refused_and_stores_nothing(client, session):
    response = client.post("/dash/sites/new", data=FORM)

    assert response.status_code == 400
    assert count(session, Site) == 0


def test_site_list_and_settings_answer_json(client, site):
    listed = client.get("/dash/sites/?format=json").get_json()
    one = client.get("/dash/sites/blog/settings?format=json").get_json()

    assert [s["key"] for s in listed["sites"]] == ["blog"]
    assert listed["sites"][0]["last_event_at"] is None
    assert one["allowed_origins"] == [ORIGIN] and one["timezone"] == "UTC"


def test_unknown_site_is_a_404_page(client):
    response = client.get("/dash/sites/nope/settings")

    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


# --- the installation check ----------


def test_install_check_waits_then_lists_the_latest_page_views_in_the_sites_zone(
    client, session, site
):
    waiting = client.get("/dash/sites/blog/install-check").get_json()
    site.timezone = "America/New_York"
    session.commit()
    post_batch(client, batch(pv(url=ORIGIN + "/pricing", ti="Pricing", ts=NOW_MS)))

    live = client.get("/dash/sites/blog/install-check").get_json()

    assert waiting == {
        "site": "blog",
        "timezone": "UTC",
        "receiving": False,
        "events": [],
    }
    assert live["receiving"] is True
    (event,) = live["events"]
    assert (event["url"], event["title"], event["device"]) == (
        ORIGIN + "/pricing",
        "Pricing",
        "desktop",
    )
    assert event["viewed_at"].endswith("Z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T", event["when"])


def test_a_beacon_from_another_origin_leaves_the_check_waiting(client, site):
    post_batch(
        client, batch(pv(url="https://evil.example/x")), origin="https://evil.example"
    )

    assert client.get("/dash/sites/blog/install-check").get_json()["receiving"] is False


# --- the real-time panel ----------


def _view(client, path: str, title: str, visitor: str, minutes_ago: float = 1):
    ts = int(time.time() * 1000 - minutes_ago * 60_000)
    response = post_batch(
        client, batch(pv(url=ORIGIN + path, ti=title, ts=ts), v=visitor)
    )
    assert response.status_code == 204, response.get_data(as_text=True)


def test_realtime_counts_the_last_30_minutes_and_ranks_pages(client, session, site):
    _view(client, "/old", "Old", "visitor-old", minutes_ago=45)
    for visitor in ("visitor-1", "visitor-2"):
        _view(client, "/hot", "Hot", visitor)
    _view(client, "/warm", "Warm", "visitor-1")

    now = client.get("/dash/realtime").get_json()
    one = client.get("/dash/realtime?site=blog").get_json()

    assert (now["visitors"], now["pageviews"], now["minutes"]) == (2, 3, 30)
    assert now["sites"] == [
        {"key": "blog", "name": "Blog", "visitors": 2, "pageviews": 3}
    ]
    assert [(p["title"], p["pageviews"], p["visitors"]) for p in now["top_pages"]] == [
        ("Hot", 2, 2),
        ("Warm", 1, 1),
    ]
    assert now["top_pages"][0]["href"].startswith("/dash/sites/blog/content/")
    assert one["pageviews"] == 3


def test_realtime_shows_only_the_users_sites(client, login_as, session, site):
    _view(client, "/a", "A", "visitor-1")
    create_site(session, "Other", origins=["https://other.example"], key="other")
    session.commit()
    stranger = login_as("marketer", sites=["other"])

    everything = stranger.get("/dash/realtime").get_json()
    probe = stranger.get("/dash/realtime?site=blog")

    assert (everything["pageviews"], everything["top_pages"]) == (0, [])
    assert [s["key"] for s in everything["sites"]] == ["other"]
    assert probe.status_code == 404


@pytest.mark.parametrize(
    "url", ["/dash/realtime?site=nope", "/dash/sites/nope/install-check"]
)
def test_live_endpoints_of_an_unknown_site_are_json_404s(client, url):
    response = client.get(url)

    assert response.status_code == 404
    assert response.get_json() == {"error": "unknown site key"}


def test_overview_shows_the_panel_and_times_in_the_sites_zone(client, session, site):
    site.timezone = "Asia/Tokyo"
    session.commit()
    _view(client, "/hot", "Hot <b>now</b>", "visitor-1")

    html = client.get("/dash/").get_data(as_text=True)

    assert 'data-realtime="/dash/realtime"' in html
    assert '<strong data-rt="pageviews">1</strong>' in html
    assert "Hot &lt;b&gt;now&lt;/b&gt;" in html
    assert re.search(r"\d\d:\d\d:\d\d JST", html)
    assert "<script>" not in html.replace('type="application/json"', "")


def test_latest_page_views_are_the_newest_of_every_site_together(client, session, site):
    create_site(session, "Other", origins=["https://other.example"], key="other")
    session.commit()
    for n, (key, origin) in enumerate(
        [("blog", ORIGIN), ("other", "https://other.example")] * 3
    ):
        ts = int(time.time() * 1000 - (10 - n) * 60_000)  # one a minute, in turn
        page = pv(url=f"{origin}/p{n}", ti=f"Page {n}", ts=ts)
        response = post_batch(
            client, batch(page, s=key, v=f"visitor-{n:04d}"), origin=origin
        )
        assert response.status_code == 204

    latest = recent_views(session, limit=4)
    of_other = recent_views(session, limit=2, site_keys=["other"])

    assert [(v.site_key, v.title) for v in latest] == [
        ("other", "Page 5"),
        ("blog", "Page 4"),
        ("other", "Page 3"),
        ("blog", "Page 2"),
    ]
    assert [v.title for v in of_other] == ["Page 5", "Page 3"]


# --- empty states ----------


def test_overview_without_sites_leads_to_adding_one(client):
    html = client.get("/dash/").get_data(as_text=True)

    assert "No site yet." in html and 'href="/dash/sites/new"' in html


def test_a_site_without_events_shows_its_tag_instead_of_empty_tables(client, site):
    overview = client.get("/dash/").get_data(as_text=True)
    content = client.get("/dash/sites/blog/content").get_data(as_text=True)

    for html in (overview, content):
        assert "No " in html and "yet — embed this tag" in html
        assert "data-site=&#34;blog&#34;" in html
        assert 'href="/dash/sites/blog/settings#install-check"' in html


def test_a_filter_that_matches_nothing_says_so_without_the_tag(client, site):
    post_batch(client, batch(pv()))

    html = client.get("/dash/sites/blog/content?device=mobile").get_data(as_text=True)

    assert "No page views match these filters" in html
    assert "embed this tag" not in html


# --- error pages ----------


def test_errors_are_pages_for_people_and_json_for_machines(client, site):
    page = client.get("/dash/no-such-page")
    bad = client.get("/dash/sites/blog/content?since=yesterday")
    twin = client.get("/dash/sites/blog/content?since=yesterday&format=json")
    api = client.get("/api/no-such-thing")

    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)
    assert 'href="/static/css/dashboard.css"' in page.get_data(as_text=True)
    assert bad.status_code == 400
    assert "is not a date like 2026-01-31" in bad.get_data(as_text=True)
    assert twin.status_code == 400 and "is not a date" in twin.get_json()["error"]
    assert api.status_code == 404 and api.is_json


def test_an_unexpected_error_is_a_friendly_500_page(database_url, monkeypatch):
    from resonance.app import create_app
    from resonance.auth.access import ACCESS, PUBLIC

    monkeypatch.setitem(ACCESS, "explode", PUBLIC)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})

    @app.get("/dash/explode")
    def explode():
        raise RuntimeError("boom")

    response = app.test_client().get("/dash/explode")

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "boom" not in html
    app.extensions["resonance.engine"].dispose()


# --- time zones ----------------------------------------------------------------


def test_date_filters_are_days_in_the_sites_time_zone(client, session, site):
    late = 1767396600000  # 2026-01-02 23:30 UTC = 2026-01-03 08:30 in Tokyo
    post_batch(client, batch(pv(url=ORIGIN + "/late", ti="Late", ts=late)))
    query = "/dash/sites/blog/content?since=2026-01-03&until=2026-01-03&format=json"

    in_utc = client.get(query).get_json()["content"]
    site.timezone = "Asia/Tokyo"
    session.commit()
    in_tokyo = client.get(query).get_json()["content"]

    assert in_utc == []
    assert [row["title"] for row in in_tokyo] == ["Late"]
