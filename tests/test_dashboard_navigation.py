"""Each role finds its way by clicking, and never meets a link it may not open.

A walk starts at /dash/ as each role (admin; a marketer and a salesperson with
the blog granted), follows every link under /dash/ (not forms, not the CSV and
PNG downloads) and asks every page it reaches: each must answer 200. The
header of a site's pages shows that site's sections as the role allows them;
a salesperson starts on the blog's prospects, most recently active first.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
from bs4 import BeautifulSoup
from conftest import TEST_PASSWORD, form_csrf_token, post_batch
from factories import batch, pv
from test_dashboard_influence import ADA, BOB, CY, seed_sales_readings

from tracker.sites import create_site

OTHER_ORIGIN = "https://other.example"
MAX_PAGES = 400
SKIPPED_SUFFIXES = (".csv", ".png")
# The header of a blog page, per role: installation-wide links, site sections.
EXPECTED_NAV = {
    "admin": (
        ["Overview", "Sites", "Users", "Digest"],
        ["Content", "Prospects", "Accounts", "Alerts", "Influence", "Settings"],
    ),
    "marketer": (["Overview", "Digest"], ["Content", "Influence"]),
    "sales": (["Digest"], ["Content", "Prospects", "Accounts", "Alerts", "Influence"]),
}


@pytest.fixture
def world(client, session, site) -> dict[str, int]:
    """The blog with Ada, Bob and Cy's reading (two of them reached sales) and
    another site with one page view; lead ids by e-mail."""
    leads = seed_sales_readings(client, session, site)
    create_site(
        session, "Other", origins=[OTHER_ORIGIN], privacy_mode="always", key="other"
    )
    session.commit()
    view = pv(url=f"{OTHER_ORIGIN}/hello", ti="Other hello")
    assert (
        post_batch(client, batch(view, s="other"), origin=OTHER_ORIGIN).status_code
        == 204
    )
    return leads


def _links(html: str, page_url: str) -> list[str]:
    """The dashboard pages ``html`` links to (path and query, no fragment)."""
    found = []
    for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
        parts = urlsplit(urljoin(page_url, anchor["href"]))
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/dash/"):
            continue
        if parts.path.endswith(SKIPPED_SUFFIXES):
            continue
        found.append(urlunsplit(("", "", parts.path, parts.query, "")))
    return found


def walk(client, start: str = "/dash/") -> dict[str, int]:
    """Every page reachable from ``start`` by links → its status (redirects
    followed: a link that lands somewhere counts as the page it lands on)."""
    statuses: dict[str, int] = {}
    queue = deque([start])
    while queue:
        url = queue.popleft()
        if url in statuses:
            continue
        assert len(statuses) < MAX_PAGES, "the walk does not end: links keep changing"
        response = client.get(url, follow_redirects=True)
        statuses[url] = response.status_code
        if response.status_code == 200 and response.mimetype == "text/html":
            queue.extend(_links(response.get_data(as_text=True), url))
    return statuses


def header(html: str) -> tuple[list[str], list[str]]:
    """The labels of the main nav and of the site's sections."""
    soup = BeautifulSoup(html, "html.parser")
    main = soup.select("header nav.main-nav a")
    sections = soup.select("header nav.site-nav .sections a")
    return [a.get_text(strip=True) for a in main], [
        a.get_text(strip=True) for a in sections
    ]


@pytest.mark.parametrize("role", ["admin", "marketer", "sales"])
def test_every_link_a_role_can_follow_opens(login_as, world, role):
    client = login_as(role, sites=["blog"])

    statuses = walk(client)

    refused = {url: status for url, status in statuses.items() if status != 200}
    assert not refused
    paths = {urlsplit(url).path for url in statuses}
    blog = "/dash/sites/blog"
    reached = {
        "admin": {
            f"{blog}/content",
            f"{blog}/prospects",
            f"{blog}/influence",
            f"{blog}/settings",
            "/dash/sites/",
            "/dash/users/",
            "/dash/sites/other/content",
        },
        "marketer": {f"{blog}/content", f"{blog}/influence"},
        "sales": {f"{blog}/content", f"{blog}/prospects", f"{blog}/influence"},
    }[role]
    assert reached <= paths, reached - paths
    assert any(re.fullmatch(rf"{blog}/content/\d+", p) for p in paths)
    if role != "marketer":
        assert any(re.fullmatch(rf"{blog}/prospects/\d+", p) for p in paths)
    if role != "admin":
        assert not any(p.startswith("/dash/sites/other") for p in paths)


@pytest.mark.parametrize("role", ["admin", "marketer", "sales"])
def test_a_sites_pages_show_its_sections_as_the_role_may_open_them(
    login_as, world, role
):
    client = login_as(role, sites=["blog"])
    expected = EXPECTED_NAV[role]

    for path in ("content", "influence"):
        html = client.get(f"/dash/sites/blog/{path}").get_data(as_text=True)
        assert header(html) == expected, path
        soup = BeautifulSoup(html, "html.parser")
        current = soup.select('header nav.site-nav a[aria-current="page"]')
        assert [a.get_text(strip=True) for a in current] == [path.capitalize()]
    overview = client.get("/dash/", follow_redirects=True).get_data(as_text=True)
    assert header(overview)[0] == expected[0]


def test_a_page_about_no_site_shows_no_site_sections(client, world):
    html = client.get("/dash/users/").get_data(as_text=True)

    assert header(html) == (["Overview", "Sites", "Users", "Digest"], [])


def test_the_site_picker_offers_only_the_users_other_sites(login_as, world):
    two = login_as("sales", sites=["blog", "other"])
    one = login_as("sales", sites=["blog"])

    def picker(client) -> list[tuple[str, str]]:
        html = client.get("/dash/sites/blog/influence").get_data(as_text=True)
        soup = BeautifulSoup(html, "html.parser")
        return [
            (a.get_text(strip=True), a["href"]) for a in soup.select(".site-picker a")
        ]

    assert picker(two) == [("Other", "/dash/sites/other/influence")]
    assert picker(one) == []


def test_sales_lands_on_their_prospects_most_recently_active_first(
    login_as, anon_client, make_user, world
):
    landing = login_as("sales", sites=["blog"]).get("/dash/")
    user = make_user("sales", sites=["blog"])
    form = anon_client.get("/login").get_data(as_text=True)
    logged_in = anon_client.post(
        "/login",
        data={
            "csrf_token": form_csrf_token(form),
            "username": user.username,
            "password": TEST_PASSWORD,
        },
        follow_redirects=True,
    )

    assert landing.status_code == 302
    assert landing.headers["Location"] == "/dash/sites/blog/prospects"
    assert logged_in.request.path == "/dash/sites/blog/prospects"
    soup = BeautifulSoup(logged_in.get_data(as_text=True), "html.parser")
    names = [a.get_text(strip=True) for a in soup.select("table.prospects a.title")]
    # Last seen: Bob on day 11, Ada on day 6, Cy on day 4.
    assert names == ["Bob Stone", "Ada Lovelace", "Cy Young"]
    assert {ADA, BOB, CY} <= set(world)


def test_the_overview_stays_the_start_for_scripts_and_other_roles(login_as, world):
    sales = login_as("sales", sites=["blog"])
    nowhere = login_as("sales", sites=[])

    assert sales.get("/dash/?format=json").status_code == 200
    assert nowhere.get("/dash/").status_code == 200
    assert login_as("marketer", sites=["blog"]).get("/dash/").status_code == 200


@pytest.mark.parametrize("role", ["marketer", "sales"])
def test_no_page_offers_a_non_admin_the_admins_buttons(login_as, world, role):
    client = login_as(role, sites=["blog"])
    pages = ["/dash/sites/blog/influence", "/dash/sites/blog/content"]
    pages.append("/dash/" if role == "marketer" else "/dash/sites/blog/prospects")

    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "Add a site" not in html, url
        assert "settings and tag" not in html, url
        assert "/settings" not in html, url
        if role == "marketer":
            assert "/prospects" not in html, url


def test_the_header_leaves_the_pages_own_site_alone(client, world):
    """The header's site (a name and links) is not the page's ``site``: the
    settings page still shows the site's zone and origins."""
    html = client.get("/dash/sites/other/settings").get_data(as_text=True)

    assert "When (UTC)" in html
    assert "times are in UTC." in html
    assert OTHER_ORIGIN in html
