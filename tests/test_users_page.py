"""The users page: an admin adds users, resets passwords, disables accounts and
sets the sites each user sees, with the rules of ``resonance user`` (one module,
resonance/auth/users.py). Who may open it at all: tests/test_auth_routes.py."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_PASSWORD, count, csrf_headers

from resonance.auth import users
from resonance.core.models import User
from tracker.sites import create_site

URL = "/dash/users/"


@pytest.fixture
def other_site(session, site) -> None:
    create_site(session, "Other", origins=["https://other.example"], key="other")
    session.commit()


def _shown_password(html: str) -> str:
    found = re.search(r'<code class="password">([^<]+)</code>', html)
    assert found, "no password shown"
    return found.group(1)


def _post(client, path: str, data: dict):
    return client.post(path, data=data, headers=csrf_headers(client))


def test_an_added_user_logs_in_with_the_password_shown_once(
    client, session, site, other_site
):
    response = _post(
        client, URL, {"username": " Pat@Example.com ", "role": "sales", "sites": "blog"}
    )

    assert response.status_code == 201
    html = response.get_data(as_text=True)
    password = _shown_password(html)
    assert "<strong>pat@example.com</strong>" in html
    session.expire_all()
    pat = users.check_login(session, "pat@example.com", password)
    assert pat is not None and pat.role == "sales"
    assert users.site_keys(session, pat) == ("blog",)
    again = client.get(URL).get_data(as_text=True)
    assert password not in again  # shown once: the list never has it


def test_a_refused_username_is_a_400_that_adds_nobody(client, session, site):
    before = count(session, User)

    response = _post(client, URL, {"username": "<b>x</b> y", "role": "marketer"})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "a username is 1 to 64 lowercase letters" in html
    assert "<b>x</b>" not in html and 'value="&lt;b&gt;x&lt;/b&gt; y"' in html
    assert count(session, User) == before


def test_disabling_ends_the_users_sessions_and_enabling_lets_them_back(
    client, login_as, session, site
):
    marketer = login_as("marketer", sites=["blog"])
    name = marketer.user.username
    assert marketer.get("/dash/").status_code == 200

    off = _post(client, f"{URL}{name}/enabled", {"enabled": "0"})

    assert off.status_code == 303
    assert marketer.get("/dash/").status_code == 302  # back to the login page
    session.expire_all()
    assert users.check_login(session, name, TEST_PASSWORD) is None
    on = _post(client, f"{URL}{name}/enabled", {"enabled": "1"})
    assert on.status_code == 303
    session.expire_all()
    assert users.check_login(session, name, TEST_PASSWORD) is not None


def test_an_admin_cannot_disable_their_own_account(client, session):
    name = client.user.username

    response = _post(client, f"{URL}{name}/enabled", {"enabled": "0"})

    assert response.status_code == 400
    assert "cannot disable your own account" in response.get_data(as_text=True)
    session.expire_all()
    assert users.find_user(session, name).enabled


def test_a_reset_password_replaces_the_old_one(client, make_user, session):
    sam = make_user("sales", username="sam")

    response = _post(client, f"{URL}sam/password", {})

    assert response.status_code == 200
    password = _shown_password(response.get_data(as_text=True))
    session.expire_all()
    assert users.check_login(session, "sam", TEST_PASSWORD) is None
    assert users.check_login(session, "sam", password).id == sam.id


def test_the_ticked_sites_become_the_users_grants(
    client, make_user, session, site, other_site
):
    make_user("marketer", sites=["blog"], username="mo")

    response = _post(client, f"{URL}mo/sites", {"sites": ["other"]})

    assert response.status_code == 303
    session.expire_all()
    assert users.site_keys(session, users.find_user(session, "mo")) == ("other",)
    unknown = _post(client, f"{URL}mo/sites", {"sites": ["nope"]})
    assert unknown.status_code == 400
    session.expire_all()
    assert users.site_keys(session, users.find_user(session, "mo")) == ("other",)


def test_an_unknown_user_is_a_404(client):
    assert _post(client, f"{URL}nobody/password", {}).status_code == 404


def test_admins_find_the_page_in_the_navigation_and_others_do_not(login_as, site):
    admin_nav = login_as("admin").get("/dash/").get_data(as_text=True)
    sales = login_as("sales", sites=["blog"])
    sales_nav = sales.get("/dash/", follow_redirects=True).get_data(as_text=True)

    assert f'href="{URL}"' in admin_nav
    assert f'href="{URL}"' not in sales_nav


def test_the_json_twin_lists_users_without_any_secret(client, make_user, site):
    make_user("sales", sites=["blog"], username="sam")

    listed = client.get(URL, query_string={"format": "json"}).json["users"]

    sam = next(u for u in listed if u["username"] == "sam")
    assert (sam["role"], sam["enabled"], sam["sites"]) == ("sales", True, ["blog"])
    assert not {"password_hash", "session_nonce"} & set(sam)


def test_a_username_over_64_characters_is_refused_not_cut(client, session, site):
    before = count(session, User)

    response = _post(client, URL, {"username": "a" * 65, "role": "sales"})

    assert response.status_code == 400
    assert count(session, User) == before
