"""``resonance user ...`` and the demo logins, down to a real login with the
printed password (the scrypt hash is checked, not a stand-in)."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_PASSWORD, form_csrf_token
from sqlalchemy import select

from resonance.auth.users import UserError, check_login, create_user
from resonance.cli import cli
from resonance.core.models import User, UserSite


def _printed_password(output: str) -> str:
    return re.search(r"password \(shown once\): (\S+)", output).group(1)


def _can_log_in(app, username: str, password: str) -> bool:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = form_csrf_token(html)
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
    )
    return response.status_code == 303


def test_user_add_prints_a_password_once_and_it_logs_in(app, runner, session, site):
    result = runner.invoke(
        cli, ["user", "add", "Dana", "--role", "marketer", "--site", "blog"]
    )

    assert result.exit_code == 0, result.output
    password = _printed_password(result.output)
    user = session.scalars(select(User)).one()
    assert (user.username, user.role) == ("dana", "marketer")
    assert user.password_hash.startswith("scrypt:")
    assert password not in user.password_hash
    assert _can_log_in(app, "dana", password)
    assert not _can_log_in(app, "dana", password + "x")


def test_user_add_reads_the_password_from_stdin(app, runner, session):
    result = runner.invoke(
        cli,
        ["user", "add", "ops", "--role", "admin", "--password-stdin"],
        input="a long enough secret\n",
    )

    assert result.exit_code == 0, result.output
    assert "shown once" not in result.output
    assert _can_log_in(app, "ops", "a long enough secret")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad name!", "--role", "admin"], "a username is"),
        (["sam", "--role", "admin", "--site", "nosuch"], "no site with key"),
    ],
)
def test_user_add_refuses_bad_input_and_stores_nothing(runner, session, args, message):
    result = runner.invoke(cli, ["user", "add", *args])

    assert result.exit_code == 1
    assert message in result.output
    assert session.scalars(select(User)).all() == []


def test_short_passwords_and_duplicate_names_are_refused(session, password_hash):
    create_user(session, "sam", "sales", password_hash=password_hash)
    with pytest.raises(UserError, match="12 to"):
        create_user(session, "kim", "sales", password="short")
    with pytest.raises(UserError, match="exists already"):
        create_user(session, "SAM", "admin", password_hash=password_hash)
    with pytest.raises(UserError, match="role must be"):
        create_user(session, "lee", "owner", password_hash=password_hash)


def test_user_list_disable_enable_and_password(app, runner, session, site, make_user):
    make_user("sales", sites=["blog"], username="sam")
    make_user("admin", username="ada")

    listed = runner.invoke(cli, ["user", "list"]).output.splitlines()
    assert [line.split("\t")[:4] for line in listed] == [
        ["ada", "admin", "enabled", "*"],
        ["sam", "sales", "enabled", "blog"],
    ]

    assert runner.invoke(cli, ["user", "disable", "sam"]).exit_code == 0
    assert "disabled" in runner.invoke(cli, ["user", "list"]).output
    assert not _can_log_in(app, "sam", TEST_PASSWORD)
    assert runner.invoke(cli, ["user", "enable", "sam"]).exit_code == 0
    assert _can_log_in(app, "sam", TEST_PASSWORD)

    reset = runner.invoke(cli, ["user", "password", "sam"])
    assert reset.exit_code == 0
    assert not _can_log_in(app, "sam", TEST_PASSWORD)
    assert _can_log_in(app, "sam", _printed_password(reset.output))
    missing = runner.invoke(cli, ["user", "disable", "nobody"])
    assert (missing.exit_code, "no user" in missing.output) == (1, True)


def test_user_grant_and_revoke_sites(runner, session, site, make_user):
    user = make_user("marketer", username="mia")

    assert runner.invoke(cli, ["user", "grant", "mia", "--site", "blog"]).exit_code == 0
    assert runner.invoke(cli, ["user", "grant", "mia", "--site", "blog"]).exit_code == 0
    granted = session.scalars(select(UserSite).where(UserSite.user_id == user.id))
    assert len(granted.all()) == 1
    assert (
        runner.invoke(cli, ["user", "revoke", "mia", "--site", "blog"]).exit_code == 0
    )
    session.expire_all()
    assert session.scalars(select(UserSite)).all() == []


def test_check_login_refuses_an_unknown_name(session):
    # No user at all: still None (after hashing against the dummy hash).
    assert check_login(session, "ghost", "whatever password") is None


def test_demo_prints_one_login_per_role_and_each_works(app, runner, session):
    result = runner.invoke(cli, ["demo", "--visitors", "5", "--days", "2"])

    assert result.exit_code == 0, result.output
    logins = re.findall(r"(\w+)\s+user (\w+)\s+password (\S+)", result.output)
    assert [(role, name) for role, name, _ in logins] == [
        ("admin", "admin"),
        ("marketer", "marketer"),
        ("sales", "sales"),
    ]
    for _, name, password in logins:
        assert _can_log_in(app, name, password)
    again = runner.invoke(cli, ["demo", "--visitors", "5", "--force"])
    assert "password" not in again.output  # printed once, never again
