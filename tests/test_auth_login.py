"""Logging in and out through the real form: sessions, cookies, CSRF, redirects,
rate limits, and that no page shows another site's data, even by guessed ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import (
    ORIGIN,
    TEST_PASSWORD,
    csrf_headers,
    form_csrf_token,
    log_in,
    post_batch,
)
from factories import batch, identify, pv
from sqlalchemy import select

from resonance.app import create_app
from resonance.auth.session import safe_next
from resonance.auth.users import set_enabled, set_password
from resonance.core.models import Content, Lead, Note, Site, Snapshot, User
from tracker.sites import create_site
from tracker.tokens import create_token

OTHER_ORIGIN = "https://other.example"


def _form_token(client, url: str = "/login") -> str:
    return form_csrf_token(client.get(url).get_data(as_text=True))


def _login(client, username: str, password: str = TEST_PASSWORD, **extra):
    data = {
        "csrf_token": _form_token(client),
        "username": username,
        "password": password,
    }
    return client.post("/login", data=data | extra)


def test_the_right_password_starts_a_session_and_goes_to_next(
    anon_client, make_user, site
):
    user = make_user("marketer", sites=["blog"])
    asked = anon_client.get("/dash/sites/blog/content?q=x")
    assert asked.status_code == 302
    login_page = asked.headers["Location"]
    assert login_page == "/login?next=/dash/sites/blog/content?q%3Dx"

    form = anon_client.get(login_page).get_data(as_text=True)
    assert 'name="next" value="/dash/sites/blog/content?q=x"' in form
    response = _login(anon_client, user.username, next="/dash/sites/blog/content?q=x")

    assert response.status_code == 303
    assert response.headers["Location"] == "/dash/sites/blog/content?q=x"
    page = anon_client.get("/dash/sites/blog/content?q=x")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{user.username} (marketer)" in html  # the nav shows who
    assert ">Log out</button>" in html


def test_username_is_case_insensitive_and_last_login_is_recorded(
    anon_client, make_user, session
):
    user = make_user("admin", username="dana")

    assert _login(anon_client, "  DANA ").status_code == 303
    session.refresh(user)
    assert user.last_login_at is not None


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "disabled user"])
def test_refused_logins_all_look_the_same(anon_client, make_user, session, case):
    user = make_user("admin", username="sam")
    username, password = "sam", "not the password at all"
    if case == "unknown user":
        username, password = "nobody", TEST_PASSWORD
    elif case == "disabled user":
        password = TEST_PASSWORD
        set_enabled(user, False)
        session.commit()

    response = _login(anon_client, username, password)

    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert anon_client.get("/dash/").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/dash/",
        "//evil.example/dash/",
        "/\\evil.example/dash/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/dash/\r\nSet-Cookie: x=1",
        "dash/",
        "",
    ],
)
def test_next_never_leaves_the_site(anon_client, make_user, target):
    user = make_user("admin")

    response = _login(anon_client, user.username, next=target)

    assert response.status_code == 303
    assert response.headers["Location"] == "/dash/"


def test_safe_next_keeps_paths_with_their_query():
    assert safe_next("/dash/sites/a/content?q=1&x=2", "/") == (
        "/dash/sites/a/content?q=1&x=2"
    )
    assert safe_next("/\t/evil.example", "/") == "/"


def test_login_replaces_whatever_session_the_browser_had(anon_client, make_user):
    """Session fixation: a planted session (and its CSRF secret) is dropped."""
    user = make_user("admin")
    anon_client.get("/login")
    with anon_client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
        known_csrf_secret = planted["csrf_token"]

    _login(anon_client, user.username)

    with anon_client.session_transaction() as fresh:
        assert "planted" not in fresh
        assert fresh.get("csrf_token") != known_csrf_secret
        assert fresh["uid"] == user.id


def test_login_and_logout_posts_need_the_csrf_token(anon_client, client, make_user):
    user = make_user("admin")
    without = anon_client.post(
        "/login", data={"username": user.username, "password": TEST_PASSWORD}
    )
    assert without.status_code == 400
    assert "Wrong username" not in without.get_data(as_text=True)
    assert anon_client.get("/dash/").status_code == 302

    assert client.post("/logout").status_code == 400
    assert client.get("/dash/").status_code == 200


def test_logout_ends_every_copy_of_the_session(app, client):
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/dash/").status_code == 200

    response = client.post("/logout", headers=csrf_headers(client))

    assert (response.status_code, response.headers["Location"]) == (303, "/login")
    assert client.get("/dash/").status_code == 302
    assert stolen.get("/dash/").status_code == 302


@pytest.mark.parametrize("change", ["password reset", "disabled"])
def test_password_reset_and_disabling_end_open_sessions(
    app, session, make_user, change
):
    user = make_user("sales")
    client = log_in(app.test_client(), user)
    assert client.get("/dash/").status_code == 200

    found = session.get(User, user.id)
    if change == "disabled":
        set_enabled(found, False)
    else:
        set_password(session, found, "a brand new password")
    session.commit()

    assert client.get("/dash/").status_code == 302
    assert client.get("/dash/?format=json").status_code == 401


def _session_cookie(response) -> str:
    cookies = response.headers.getlist("Set-Cookie")
    return next(c for c in cookies if c.startswith("session="))


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(
    database_url, make_user
):
    user = make_user("admin")
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "PROXY_COUNT": 1}
    )
    try:
        plain = app.test_client()
        cookie = _session_cookie(_login(plain, user.username))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie

        proxied = app.test_client()
        proxied.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
        proxied.environ_base["HTTP_REFERER"] = "https://localhost/login"
        cookie = _session_cookie(_login(proxied, user.username))
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        app.extensions["resonance.engine"].dispose()


def test_login_attempts_are_rate_limited_per_client_with_retry_after(
    database_url, make_user
):
    user = make_user("admin")
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "LOGIN_RATE_LIMIT": "3/minute",
        }
    )
    try:
        client = app.test_client()
        for _ in range(3):
            assert _login(client, user.username, "wrong password!").status_code == 401
        blocked = _login(client, user.username)  # even the right password

        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 61
        assert "too many requests" in blocked.get_data(as_text=True)
        assert client.get("/login").status_code == 200  # the form still shows
        assert client.get("/dash/").status_code == 302
    finally:
        app.extensions["resonance.engine"].dispose()


def test_login_attempts_are_rate_limited_per_username(database_url, make_user):
    user = make_user("admin")
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "PROXY_COUNT": 1,
            "LOGIN_USER_RATE_LIMIT": "2/hour",
        }
    )
    try:
        for n in range(3):
            client = app.test_client()  # a new address every time
            client.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{n}"
            response = _login(client, user.username, "wrong password!")
        assert response.status_code == 429
    finally:
        app.extensions["resonance.engine"].dispose()


def test_a_bearer_token_opens_no_dashboard_page(anon_client, session, site):
    token = create_token(session, site.id, "crm", datetime.now(UTC))
    session.commit()

    response = anon_client.get(
        "/dash/?format=json", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401


def test_sales_sees_no_snapshot_button_and_a_marketer_does(login_as, site, session):
    anon = login_as("admin")
    view = pv()
    post_batch(anon, batch(view))
    content_id = session.scalar(select(Content.id))
    url = f"/dash/sites/blog/content/{content_id}"

    sales = login_as("sales", sites=["blog"]).get(url).get_data(as_text=True)
    marketer = login_as("marketer", sites=["blog"]).get(url).get_data(as_text=True)

    assert "Take snapshot" not in sales
    assert "Take snapshot" in marketer


# --- another site's data, by guessed ids ------------------------------------------


@pytest.fixture
def two_sites(app, anon_client, session, site, tmp_path) -> dict[str, dict]:
    """The blog and another site, each with content, a snapshot, a lead, a note."""
    app.instance_path = str(tmp_path)
    (tmp_path / "snapshots").mkdir()
    create_site(
        session, "Other", origins=[OTHER_ORIGIN], privacy_mode="always", key="other"
    )
    session.commit()
    ids = {}
    for key, origin in (("blog", ORIGIN), ("other", OTHER_ORIGIN)):
        view = pv(url=f"{origin}/post", ti=f"Secret {key} post")
        events = batch(
            view, identify(view["p"], f"ada@{key}.example"), s=key, v=f"visitor-{key}"
        )
        assert post_batch(anon_client, events, origin=origin).status_code == 204
        site_id = session.scalar(select(Site.id).where(Site.key == key))
        content = session.scalar(select(Content.id).where(Content.site_id == site_id))
        lead = session.scalar(select(Lead.id).where(Lead.site_id == site_id))
        snapshot = Snapshot(
            content_id=content,
            width_px=1440,
            height_px=900,
            taken_at=datetime(2026, 1, 1),
            image=f"{key}.png",
        )
        session.add(snapshot)
        session.add(
            Note(
                site_id=site_id,
                content_id=content,
                lead_id=lead,
                author="Sam",
                body=f"note about {key}",
                created_at=datetime(2026, 1, 1),
            )
        )
        session.commit()
        (tmp_path / "snapshots" / f"{key}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        ids[key] = {"content": content, "lead": lead, "snapshot": snapshot.id}
    return ids


def test_overview_lists_only_the_users_sites(login_as, two_sites):
    client = login_as("sales", sites=["blog"])

    data = client.get("/dash/?format=json").json
    html = client.get("/dash/", follow_redirects=True).get_data(as_text=True)

    assert [s["key"] for s in data["sites"]] == ["blog"]
    assert {r["site_key"] for r in data["recent"]} == {"blog"}
    assert "other.example" not in html and "Other" not in html
    admin = login_as("admin").get("/dash/?format=json").json
    assert sorted(s["key"] for s in admin["sites"]) == ["blog", "other"]


def test_another_sites_ids_under_a_granted_site_are_404(login_as, two_sites):
    client = login_as("admin", sites=[])  # admin: the views' own scoping is tested
    client_sales = login_as("sales", sites=["blog"])
    client_marketer = login_as("marketer", sites=["blog"])
    other = two_sites["other"]
    blog = two_sites["blog"]
    base = "/dash/sites/blog"
    reads = [
        (client_marketer, f"{base}/content/{other['content']}"),
        (client_marketer, f"{base}/content/{other['content']}?format=json"),
        (client_marketer, f"{base}/snapshots/{other['snapshot']}.png"),
        (client_sales, f"{base}/prospects/{other['lead']}"),
        (client_sales, f"{base}/prospects/{other['lead']}?format=json"),
        (client_sales, f"{base}/prospects/{other['lead']}.csv"),
        (client, f"{base}/content/{other['content']}"),
        (client, f"{base}/prospects/{other['lead']}"),
    ]
    for who, url in reads:
        response = who.get(url)
        response.close()
        assert response.status_code == 404, url

    writes = [
        (client_marketer, f"{base}/content/{other['content']}/snapshot", {}),
        (
            client_sales,
            f"{base}/prospects/{other['lead']}/notes",
            {"content_id": blog["content"], "body": "x"},
        ),
        (
            client_sales,
            f"{base}/prospects/{blog['lead']}/notes",
            {"content_id": other["content"], "body": "x"},
        ),
    ]
    for who, url, data in writes:
        response = who.post(url, data=data, headers=csrf_headers(who))
        assert response.status_code == 404, url


def test_pages_of_a_granted_site_show_none_of_another_sites_notes_or_leads(
    login_as, two_sites
):
    blog = two_sites["blog"]
    marketer = login_as("marketer", sites=["blog"])
    sales = login_as("sales", sites=["blog"])

    pages = [
        marketer.get(f"/dash/sites/blog/content/{blog['content']}"),
        marketer.get("/dash/sites/blog/content?format=json"),
        sales.get(f"/dash/sites/blog/prospects/{blog['lead']}"),
        sales.get("/dash/sites/blog/prospects?format=json"),
        sales.get("/dash/sites/blog/influence?format=json"),
    ]

    for page in pages:
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "other" not in text.lower(), page.request.path
    assert "note about blog" in pages[0].get_data(as_text=True)


def test_an_expired_login_form_is_shown_again_not_a_bare_error(anon_client):
    response = anon_client.post(
        "/login", data={"csrf_token": "stale", "username": "x", "password": "y"}
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The form had expired" in html
    assert 'name="csrf_token" value="' in html
