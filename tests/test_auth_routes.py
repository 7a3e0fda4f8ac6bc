"""Every route × method answers each kind of user as the access table says.

Walks ``app.url_map``: a route that is not in
:data:`resonance.auth.access.ACCESS` fails here, so nothing ships unclassified.
For each rule and method it asks as: nobody (a page and a JSON request), each
role granted the blog, and each role granted only another site. It expects:

- public: never refused (no login redirect, no 401/403);
- token (the CRM API): 401 with ``WWW-Authenticate: Bearer``, for a dashboard
  login too;
- login routes: nobody → a redirect to ``/login?next=…`` (401 JSON for JSON);
  a role not listed → 403; a role granted only another site → 404 on the blog's
  pages (an admin sees every site); a role allowed → 200 for GET (a page that
  sends the role on to its own start page: a redirect there), and for POST
  a 400 naming the missing CSRF token (the guard let it through, CSRF did not).

Adding a route: one line in ``ACCESS``, and a sample value in :func:`_url` if it
takes a URL argument not seen before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ORIGIN, post_batch
from factories import batch, identify, pv
from flask import url_for
from sqlalchemy import select

from resonance.app import create_app
from resonance.auth.access import ACCESS, access_for
from resonance.core.models import ROLES, Content, Lead, Site, Snapshot
from resonance.demo.pages import ARTICLES
from tracker.sites import create_site

OTHER_ORIGIN = "https://other.example"
SKIP_METHODS = {"HEAD", "OPTIONS"}
# A salesperson's /dash/ is their first site's prospects (dashboard/nav.py).
LANDS_ELSEWHERE = {("dashboard.overview", "sales")}


def _routes() -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) of every route of a freshly built app."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "routes"})
    routes = [
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - SKIP_METHODS)
    ]
    app.extensions["resonance.engine"].dispose()
    return routes


ROUTES = _routes()


SAMPLE_USER = "sample-user"


@dataclass(frozen=True)
class SiteData:
    """Ids of one site's objects, for URLs that take them."""

    content_id: int
    snapshot_id: int
    lead_id: int
    email: str
    account_id: int


def test_every_route_is_in_the_access_table():
    missing = sorted({e for e, _, _ in ROUTES if access_for(e) is None})
    assert not missing, f"classify these endpoints in ACCESS: {missing}"


def test_no_site_page_is_public_and_the_api_takes_only_tokens():
    for endpoint, rule, _ in ROUTES:
        kind = access_for(endpoint).kind
        if rule.startswith("/dash/sites/"):
            assert kind == "login", rule
        if rule.startswith("/api/") and rule != "/api/openapi.json":
            assert kind == "token", rule


def test_the_table_names_no_endpoint_that_does_not_exist():
    endpoints = {e for e, _, _ in ROUTES}
    blueprints = {e.rpartition(".")[0] for e in endpoints}
    stale = [
        name
        for name in ACCESS
        if name not in endpoints
        and not (name.endswith(".*") and name[:-2] in blueprints)
    ]
    assert not stale


@pytest.fixture
def world(app, anon_client, session, site, tmp_path, make_user) -> dict[str, SiteData]:
    """The blog and another site, each with a content item, a snapshot (and its
    PNG), and a lead; and a user for the users page's URLs."""
    app.instance_path = str(tmp_path)
    make_user("marketer", sites=["blog"], username=SAMPLE_USER)
    (tmp_path / "snapshots").mkdir()
    create_site(
        session, "Other", origins=[OTHER_ORIGIN], privacy_mode="always", key="other"
    )
    session.commit()
    data = {}
    for key, origin in (("blog", ORIGIN), ("other", OTHER_ORIGIN)):
        email = f"ada@{key}.example"
        view = pv(url=f"{origin}/post")
        events = batch(view, identify(view["p"], email), s=key, v=f"visitor-{key}")
        assert post_batch(anon_client, events, origin=origin).status_code == 204
        site_id = session.scalar(select(Site.id).where(Site.key == key))
        content_id = session.scalar(
            select(Content.id).where(Content.site_id == site_id)
        )
        snapshot = Snapshot(
            content_id=content_id,
            width_px=1440,
            height_px=3000,
            taken_at=datetime(2026, 1, 2),
            image=f"{key}.png",
        )
        session.add(snapshot)
        session.commit()
        (tmp_path / "snapshots" / f"{key}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        lead_id = session.scalar(select(Lead.id).where(Lead.site_id == site_id))
        account_id = session.scalar(select(Lead.account_id).where(Lead.id == lead_id))
        data[key] = SiteData(content_id, snapshot.id, lead_id, email, account_id)
    return data


def _url(app, endpoint: str, rule: str, world: dict[str, SiteData]) -> str:
    """A real URL of the blog for ``rule``: its objects' ids, real file names."""
    blog = world["blog"]
    samples = {
        "site_key": "blog",
        "content_id": blog.content_id,
        "snapshot_id": blog.snapshot_id,
        "lead_id": blog.lead_id,
        "account_id": blog.account_id,
        "key": blog.email,
        "slug": ARTICLES[0].slug,
        "filename": "demo.css" if endpoint == "demo.static" else "css/dashboard.css",
        "username": SAMPLE_USER,
    }
    arguments = next(r.arguments for r in app.url_map.iter_rules(endpoint))
    unknown = set(arguments) - set(samples)
    assert not unknown, f"{rule}: add sample values for {unknown} in _url()"
    with app.test_request_context():
        return url_for(endpoint, **{name: samples[name] for name in arguments})


def _to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(
        response.headers["Location"]
    ).path.endswith("/login")


def _refused(response) -> bool:
    return response.status_code in (401, 403) or _to_login(response)


@pytest.mark.parametrize(
    ("endpoint", "rule", "method"),
    ROUTES,
    ids=[f"{method} {rule}" for _, rule, method in ROUTES],
)
def test_route_answers_each_user_as_the_table_says(
    app, anon_client, login_as, world, endpoint, rule, method
):
    access = access_for(endpoint)
    url = _url(app, endpoint, rule, world)

    def ask(client, accept: str = "text/html"):
        response = client.open(url, method=method, headers={"Accept": accept})
        response.get_data()
        response.close()  # static files are streamed from an open file
        return response

    if access.kind == "public":
        assert not _refused(ask(anon_client))
        assert not _refused(ask(login_as("sales", sites=["other"])))
        return
    if access.kind == "token":
        for client in (anon_client, login_as("admin")):
            response = ask(client)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        return

    page = ask(anon_client)
    assert _to_login(page), page.status_code
    assert parse_qs(urlsplit(page.headers["Location"]).query)["next"] == [url]
    script = ask(anon_client, "application/json")
    assert (script.status_code, script.json) == (401, {"error": "login required"})

    for role in ROLES:
        mine = ask(login_as(role, sites=["blog"]))
        theirs = ask(login_as(role, sites=["other"]))
        if role not in access.roles:
            assert (mine.status_code, theirs.status_code) == (403, 403), role
            continue
        if (endpoint, role) in LANDS_ELSEWHERE:  # let in, and sent on
            assert mine.status_code == theirs.status_code == 302, role
            assert "/sites/blog/" in mine.headers["Location"]
            assert "/sites/other/" in theirs.headers["Location"]
            continue
        expected = 200 if method == "GET" else 400
        assert mine.status_code == expected, (role, mine.get_data(as_text=True)[:300])
        if method == "POST":
            assert "CSRF token is missing" in mine.get_data(as_text=True)
        # An admin sees every site; the others only the sites granted to them.
        hidden = "<site_key>" in rule and role != "admin"
        assert theirs.status_code == (404 if hidden else expected), role
