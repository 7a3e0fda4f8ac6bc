"""Every dashboard page has its JSON twin: the same URL with ``?format=json``.

Walks ``app.url_map``: every GET route under ``/dash/`` is a page for people,
unless :data:`NOT_PAGES` names it with the reason. Each page must answer 200
``text/html``, and its twin 200 ``application/json`` holding a JSON object,
over a seeded site with a content item, a lead and a snapshot. A page added
without a twin fails here; so does an exclusion that turns out to be a page.

Adding a page: nothing to do here if it is built with
``resonance.core.respond.page_or_json``; a sample value in :func:`_url` if it
takes a URL argument not seen before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from conftest import ORIGIN, log_in, post_batch
from factories import batch, identify, pv
from flask import Blueprint, Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from resonance.app import create_app
from resonance.core.models import Content, Lead, Snapshot

# GET routes under /dash/ that are not pages for people, so have no twin.
NOT_PAGES = {
    "dashboard.plotly_js": "plotly.js itself, a script file served by the app",
    "dashboard.snapshot_png": "a snapshot's screenshot, a PNG",
    "dashboard.elements_csv": "the top clicked elements as a CSV download",
    "sales.prospect_csv": "the prospect's reading history as a CSV download",
    "accounts.accounts_csv": "the account list as a CSV download",
    "accounts.account_csv": "an account's reading as a CSV download",
    "realtime.realtime": "JSON only: what the real-time panel polls",
    "sites.install_check": "JSON only: what the installation check polls",
}


def _pages(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, rule) of every page for people: GET under /dash/, neither a
    blueprint's static files nor one of :data:`NOT_PAGES`."""
    return sorted(
        (rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/dash/")
        and "GET" in rule.methods
        and not rule.endpoint.endswith(".static")  # a blueprint's static folder
        and rule.endpoint not in NOT_PAGES
    )


def _fresh_app() -> Flask:
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "twins"})


def _collect() -> tuple[list[tuple[str, str]], set[str]]:
    """The pages and every endpoint of a freshly built app (for the parameters)."""
    app = _fresh_app()
    pages = _pages(app)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    app.extensions["resonance.engine"].dispose()
    return pages, endpoints


PAGES, ENDPOINTS = _collect()


@dataclass(frozen=True)
class Seeded:
    """Ids of the blog's objects, for URLs that take them."""

    content_id: int
    lead_id: int
    snapshot_id: int
    account_id: int


@pytest.fixture
def seeded(app, anon_client, session, site, tmp_path) -> Seeded:
    """The blog with one page view by an identified visitor (a content item
    and a lead) and a snapshot of that item with its PNG."""
    app.config["SNAPSHOT_DIR"] = str(tmp_path)
    view = pv(url=f"{ORIGIN}/post")
    events = batch(view, identify(view["p"], "ada@blog.example"))
    assert post_batch(anon_client, events).status_code == 204
    content_id = session.scalar(select(Content.id).where(Content.site_id == site.id))
    lead_id = session.scalar(select(Lead.id).where(Lead.site_id == site.id))
    snapshot = Snapshot(
        content_id=content_id,
        width_px=1440,
        height_px=3000,
        taken_at=datetime(2026, 1, 2),
        image="blog.png",
    )
    session.add(snapshot)
    session.commit()
    (tmp_path / "blog.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    account_id = session.scalar(select(Lead.account_id).where(Lead.id == lead_id))
    return Seeded(content_id, lead_id, snapshot.id, account_id)


def _url(app: Flask, endpoint: str, seeded: Seeded, username: str) -> str:
    """A real URL of the blog for ``endpoint``, its arguments from the seed."""
    samples = {
        "site_key": "blog",
        "content_id": seeded.content_id,
        "lead_id": seeded.lead_id,
        "snapshot_id": seeded.snapshot_id,
        "account_id": seeded.account_id,
        "username": username,
    }
    arguments = next(r.arguments for r in app.url_map.iter_rules(endpoint))
    unknown = set(arguments) - set(samples)
    assert not unknown, f"{endpoint}: add sample values for {unknown} in _url()"
    with app.test_request_context():
        return url_for(endpoint, **{name: samples[name] for name in arguments})


def _twin_problems(client: FlaskClient, url: str) -> list[str]:
    """What is wrong with the page at ``url`` and its twin (nothing: [])."""
    problems = []
    page = client.get(url, headers={"Accept": "text/html"})
    if (page.status_code, page.mimetype) != (200, "text/html"):
        problems.append(f"page: {page.status_code} {page.mimetype}")
    twin = client.get(url, query_string={"format": "json"})
    if (twin.status_code, twin.mimetype) != (200, "application/json"):
        problems.append(f"twin: {twin.status_code} {twin.mimetype}")
    elif not isinstance(twin.get_json(silent=True), dict):
        problems.append(f"twin: not a JSON object: {twin.get_data(as_text=True)[:80]}")
    return problems


def test_the_walk_finds_the_pages_people_open():
    found = {endpoint for endpoint, _ in PAGES}
    assert {
        "dashboard.overview",
        "dashboard.content_list",
        "dashboard.content_page",
        "sales.prospects",
        "sales.prospect_page",
        "sales.influence",
        "sites.site_list",
        "sites.site_settings",
        "users.user_list",
        "digest.preview",
    } <= found


@pytest.mark.parametrize(("endpoint", "rule"), PAGES, ids=[r for _, r in PAGES])
def test_every_dashboard_page_has_its_json_twin(app, client, seeded, endpoint, rule):
    url = _url(app, endpoint, seeded, client.user.username)

    assert _twin_problems(client, url) == [], url


@pytest.mark.parametrize("endpoint", sorted(NOT_PAGES))
def test_what_is_left_out_exists_and_is_no_page(app, client, seeded, endpoint):
    assert endpoint in ENDPOINTS, f"{endpoint} is gone: take it out of NOT_PAGES"
    url = _url(app, endpoint, seeded, client.user.username)

    response = client.get(url, headers={"Accept": "text/html"})
    response.close()  # the PNG is streamed from an open file

    assert response.status_code == 200, url
    assert response.mimetype != "text/html", f"{url} is a page: it needs a twin"


def test_a_page_added_without_a_twin_is_caught(database_url, make_user):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "twins"})
    extra = Blueprint("no_twin", __name__, url_prefix="/dash/no-twin")
    extra.add_url_rule("/", "page", lambda: "<p>A page for people only</p>")
    app.register_blueprint(extra)
    client = log_in(app.test_client(), make_user("admin"))

    try:
        assert ("no_twin.page", "/dash/no-twin/") in _pages(app)
        assert _twin_problems(client, "/dash/no-twin/") == ["twin: 200 text/html"]
    finally:
        app.extensions["resonance.engine"].dispose()
