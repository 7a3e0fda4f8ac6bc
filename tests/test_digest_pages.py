"""The digest in the dashboard: the unsubscribe link (no login, a signed token;
a tampered one changes nothing), subscribing again, the preview and its JSON
twin, and the users' e-mail addresses (CLI and users page), on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import csrf_headers, form_csrf_token, log_in
from digest_week import ADA, BOB, PRICING, RUN_DAY, seed_fortnight
from sqlalchemy import select

from dashboard.digests import unsubscribe_token
from resonance.auth.users import set_email
from resonance.cli import cli
from resonance.core.models import User

SECRET = "test-secret"  # conftest's app


def opted_out(session, user_id: int) -> bool:
    session.expire_all()
    return session.get(User, user_id).digest_opt_out


@pytest.fixture
def sam(make_user, session, site) -> User:
    user = make_user("sales", sites=["blog"], username="sam")
    set_email(user, "sam@corp.example")
    session.commit()
    return user


def test_the_unsubscribe_link_asks_then_unsubscribes_without_a_login(
    anon_client, session, sam
):
    url = f"/digest/unsubscribe/{unsubscribe_token(SECRET, sam.id)}"

    confirm = anon_client.get(url)

    assert confirm.status_code == 200
    assert 'method="post"' in confirm.get_data(as_text=True)
    assert not opted_out(session, sam.id)  # a GET (a link scanner) changes nothing
    done = anon_client.post(url)
    assert done.status_code == 200
    assert "no longer receives the weekly digest" in done.get_data(as_text=True)
    assert opted_out(session, sam.id)


def test_a_one_click_unsubscribe_post_from_a_mail_client_works(
    anon_client, session, sam
):
    url = f"/digest/unsubscribe/{unsubscribe_token(SECRET, sam.id)}"

    response = anon_client.post(url, data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert opted_out(session, sam.id)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        # Another user id (99) under the old signature.
        lambda token: "OTk." + token.split(".", 1)[1],
        lambda token: "not-a-token",
    ],
    ids=["signature", "payload", "garbage"],
)
def test_a_tampered_unsubscribe_token_is_refused_and_changes_nothing(
    anon_client, session, sam, tamper
):
    token = tamper(unsubscribe_token(SECRET, sam.id))

    for method in (anon_client.get, anon_client.post):
        response = method(f"/digest/unsubscribe/{token}")
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)
    assert not opted_out(session, sam.id)


def test_a_token_signed_with_another_key_is_refused(anon_client, session, sam):
    token = unsubscribe_token("another-secret", sam.id)

    assert anon_client.post(f"/digest/unsubscribe/{token}").status_code == 400
    assert not opted_out(session, sam.id)


def test_a_user_subscribes_again_from_the_digest_page(app, session, sam):
    sam.digest_opt_out = True
    session.commit()
    client = log_in(app.test_client(), sam)
    page = client.get("/dash/digest/preview").get_data(as_text=True)
    assert "Subscribe again" in page

    response = client.post(
        "/dash/digest/subscription",
        data={"receive": "1", "csrf_token": form_csrf_token(page)},
    )

    assert response.status_code == 303
    assert not opted_out(session, sam.id)


def test_an_admin_subscribes_a_user_again_and_sets_the_address(client, session, sam):
    sam.digest_opt_out = True
    session.commit()
    headers = csrf_headers(client)

    client.post("/dash/users/sam/digest", data={"receive": "1"}, headers=headers)
    set_to = client.post(
        "/dash/users/sam/email", data={"email": "Sam@Corp.Example"}, headers=headers
    )

    assert set_to.status_code == 303
    session.expire_all()
    user = session.get(User, sam.id)
    assert (user.email, user.digest_opt_out) == ("Sam@corp.example", False)
    listed = client.get("/dash/users/?format=json").json["users"]
    assert {u["username"]: u["email"] for u in listed}["sam"] == "Sam@corp.example"
    assert 'value="Sam@corp.example"' in client.get("/dash/users/").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "address", ["sam", "sam@corp", "a b@corp.example", "sam@corp.example\r\nBcc: x@y.z"]
)
def test_a_bad_address_is_refused_on_the_users_page(client, session, sam, address):
    response = client.post(
        "/dash/users/sam/email", data={"email": address}, headers=csrf_headers(client)
    )

    assert response.status_code == 400
    assert "an e-mail address looks like" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, sam.id).email == "sam@corp.example"


def test_the_cli_adds_a_user_with_an_address_and_changes_it(runner, session, site):
    added = runner.invoke(
        cli,
        ["user", "add", "dana", "--role", "marketer", "--email", "dana@corp.example"],
    )
    assert added.exit_code == 0, added.output
    assert (
        runner.invoke(cli, ["user", "email", "dana", "d@corp.example"]).exit_code == 0
    )
    refused = runner.invoke(cli, ["user", "email", "dana", "not-an-address"])

    assert refused.exit_code != 0
    assert "an e-mail address looks like" in refused.output
    assert session.scalar(select(User.email).where(User.username == "dana")) == (
        "d@corp.example"
    )
    assert runner.invoke(cli, ["user", "digest", "dana", "off"]).exit_code == 0
    line = runner.invoke(cli, ["user", "list"]).output.splitlines()[0]
    assert line.split("\t")[5] == "d@corp.example (no digest)"


def test_the_preview_twin_holds_the_salespersons_prospects(
    app, client, session, site, sam
):
    leads = seed_fortnight(client, session, site)
    own = log_in(app.test_client(), sam)

    body = own.get(f"/dash/digest/preview?format=json&date={RUN_DAY}").json

    (blog,) = body["digest"]["sites"]
    assert body["would_send"] is True
    assert blog["week"] == {
        "first": "2026-11-23",
        "last": "2026-11-29",
        "zone": "Europe/Berlin",
        "since": "2026-11-22T23:00:00Z",
        "until": "2026-11-29T23:00:00Z",
    }
    assert [(p["lead_id"], p["views"], p["active_s"]) for p in blog["prospects"]] == [
        (leads[BOB], 1, 15.0),
        (leads[ADA], 3, 90.0),
    ]
    assert blog["prospects"][1]["items"][0]["url"] == PRICING
    assert blog["sales_reads"] == [] and blog["falls"] == []


def test_only_an_admin_previews_another_users_digest(
    app, client, session, sam, make_user
):
    mia = make_user("marketer", sites=["blog"], username="mia")
    other = log_in(app.test_client(), mia)

    assert other.get(f"/dash/digest/preview?user={sam.id}").status_code == 403
    as_admin = client.get(f"/dash/digest/preview?format=json&user={sam.id}")
    assert as_admin.json["user"]["username"] == "sam"
    assert client.get("/dash/digest/preview?user=999999").status_code == 404
