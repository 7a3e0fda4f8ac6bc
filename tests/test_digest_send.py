"""``resonance digest send``: the weekly digest by real SMTP (aiosmtpd on
127.0.0.1), parsed as a mail client would, over the fortnight of
tests/digest_week.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

import pytest
from conftest import NO_COLLECTOR_LIMIT, log_in
from digest_week import (
    ADA,
    BOB,
    GUIDE,
    HOSTILE,
    PRICING,
    RUN_DAY,
    SETUP,
    seed_fortnight,
)
from sqlalchemy import select

from dashboard.digests import render
from dashboard.queries.digest import build_digest
from resonance.app import create_app
from resonance.auth.users import set_digest, set_email
from resonance.cli.digest import digest_group
from resonance.core.mail import MailSettings
from resonance.core.models import Content, Lead, User

PUBLIC = "https://resonance.example"
SEND = ["send", "--date", RUN_DAY.isoformat()]


@pytest.fixture
def app(database_url, smtp, tmp_path):
    """The app sending to the test's SMTP server, links from ``PUBLIC``, its
    record of sent weeks in a folder of its own."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "digest-secret",
            "PUBLIC_URL": PUBLIC,
            "COLLECTOR_RATE_LIMIT": NO_COLLECTOR_LIMIT,
            **smtp.config,
        }
    )
    app.instance_path = str(tmp_path)
    yield app
    app.extensions["resonance.engine"].dispose()


@pytest.fixture
def people(client, session, site, make_user) -> dict[str, User]:
    """The fortnight, and users: Sam (sales), Mia (marketer), Olly (marketer,
    unsubscribed), Nora (sales, no e-mail); the client's admin has no e-mail."""
    seed_fortnight(client, session, site)
    made = {}
    for name, role, email in [
        ("sam", "sales", "sam@corp.example"),
        ("mia", "marketer", "mia@corp.example"),
        ("olly", "marketer", "olly@corp.example"),
        ("nora", "sales", None),
    ]:
        user = make_user(role, sites=["blog"], username=name)
        set_email(user, email)
        made[name] = user
    set_digest(made["olly"], False)
    session.commit()
    return made


def content_id(session, url: str) -> int:
    return session.scalar(select(Content.id).where(Content.url == url))


def parts(message) -> tuple[str, str]:
    """The text and HTML parts of a parsed message."""
    text = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    return text.replace("\r\n", "\n"), markup.replace("\r\n", "\n")


def by_recipient(messages) -> dict[str, object]:
    return {m["To"]: m for m in messages}


def test_send_mails_each_subscribed_user_with_an_address_and_says_who_was_skipped(
    runner, smtp, people
):
    result = runner.invoke(digest_group, SEND)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("\t")[:2] for line in lines[:-1]] == [
        ["admin-" + lines[0].split("\t")[0].split("-")[1], "skipped"],
        ["mia", "sent"],
        ["nora", "skipped"],
        ["olly", "skipped"],
        ["sam", "sent"],
    ]
    assert lines[0].endswith("\tno e-mail address")
    assert lines[2] == "nora\tskipped\tno e-mail address"
    assert lines[3] == "olly\tskipped\tunsubscribed"
    assert lines[-1] == "digest for the week of 2026-11-23: 2 sent, 3 skipped"
    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["mia@corp.example", "sam@corp.example"]
    assert sorted(r for rs in smtp.recipients for r in rs) == [
        "mia@corp.example",
        "sam@corp.example",
    ]
    for message in messages:
        assert message["Subject"] == "Resonance: your week, 23 Nov – 29 Nov 2026"
        assert message["From"] == "resonance@test.example"


def test_a_marketer_hears_what_sales_reached_leads_read_and_what_fell(
    runner, smtp, session, people
):
    runner.invoke(digest_group, SEND)
    text, markup = parts(by_recipient(smtp.wait_for(2))["mia@corp.example"])
    pricing, guide = content_id(session, PRICING), content_id(session, GUIDE)
    setup = content_id(session, SETUP)

    # Pricing: Ada twice (40 s at 00:30 Berlin time on the 23rd, 20 s), Bob once
    # (15 s); the guide: Ada (30 s). Cy never reached sales; Ada's 99 s fell on
    # 30 Nov in Berlin, her 5 s in the week before.
    assert "Read by leads who reached sales:\n" in text
    assert (
        "- Pricing: 2 readers, 3 views, 75 s active\n"
        f"  {PUBLIC}/dash/sites/blog/content/{pricing}\n"
        f"- {HOSTILE}: 1 readers, 1 views, 30 s active\n"
        f"  {PUBLIC}/dash/sites/blog/content/{guide}\n"
    ) in text
    # Only the setup page fell enough, with enough views in both weeks.
    assert (
        "Attention fell (average active time per view):\n"
        "- Setup: 8 s this week (5 views) vs 20 s the week before (5 views), -60 %\n"
        f"  {PUBLIC}/dash/sites/blog/content/{setup}\n\n"
    ) in text
    assert "Faq" not in text and "Changelog" not in text
    assert "prospects" not in text
    assert (
        f'<td><a href="{PUBLIC}/dash/sites/blog/content/{pricing}">Pricing</a></td>'
        '<td align="right">2</td><td align="right">3</td><td align="right">75 s</td>'
    ) in markup
    assert (
        '<td align="right">8 s (5 views)</td><td align="right">20 s (5 views)</td>'
        '<td align="right">−60 %</td>'
    ) in markup


def test_a_salesperson_hears_only_about_their_own_prospects_and_accounts(
    runner, smtp, session, people
):
    runner.invoke(digest_group, SEND)
    text, markup = parts(by_recipient(smtp.wait_for(2))["sam@corp.example"])
    leads = dict(session.execute(select(Lead.email, Lead.id)).all())
    acme = session.scalar(select(Lead.account_id).where(Lead.email == ADA))

    # Ada's owner is SAM@corp.example (his e-mail, any case), Bob's "sam" (his
    # username); Cy belongs to someone else. Bob was seen last, so comes first.
    assert (
        "Your accounts active this week:\n- Acme: 1 people, 3 views"
        f"  {PUBLIC}/dash/sites/blog/accounts/{acme}\n\n"
        "Your prospects active this week:\n"
        f"- Bob Page ({BOB})\n"
        f"  {PUBLIC}/dash/sites/blog/prospects/{leads[BOB]}\n"
        "    Pricing: 1 views, 15 s active (skimmed)\n"
        f"- Ada Lovelace ({ADA}, Acme)\n"
        f"  {PUBLIC}/dash/sites/blog/prospects/{leads[ADA]}\n"
        "    Pricing: 2 views, 60 s active (skimmed)\n"
        f"    {HOSTILE}: 1 views, 30 s active (skimmed)\n"
    ) in text
    assert "cy@widgets.example" not in text and "Cy Young" not in markup
    assert "Read by leads who reached sales" not in text
    links = set(re.findall(r'href="([^"]+)"', markup))
    assert f"{PUBLIC}/dash/sites/blog/prospects/{leads[ADA]}" in links
    assert f"{PUBLIC}/dash/sites/blog/accounts/{acme}" in links
    assert all(link.startswith(PUBLIC + "/") for link in links), links


def test_titles_from_browsers_are_escaped_in_the_html_part(runner, smtp, people):
    runner.invoke(digest_group, SEND)

    for message in smtp.wait_for(2):
        _, markup = parts(message)
        assert "<script>" not in markup and "<b>more</b>" not in markup
        assert html.escape(HOSTILE, quote=False).replace('"', "&#34;") in markup


def test_every_digest_carries_its_unsubscribe_link_and_header(runner, smtp, people):
    runner.invoke(digest_group, SEND)

    for message in smtp.wait_for(2):
        text, markup = parts(message)
        header = message["List-Unsubscribe"]
        link = header.strip("<>")
        assert link.startswith(f"{PUBLIC}/digest/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"Unsubscribe from this digest: {link}\n" in text
        assert f'<a href="{link}">Unsubscribe</a>' in markup


def test_a_second_run_for_the_same_week_sends_nothing_unless_forced(
    runner, smtp, people
):
    assert runner.invoke(digest_group, SEND).exit_code == 0
    smtp.wait_for(2)

    again = runner.invoke(digest_group, SEND)

    assert "sam\tskipped\talready sent for the week of 2026-11-23" in again.output
    assert again.output.splitlines()[-1].endswith(": 5 skipped")
    forced = runner.invoke(digest_group, [*SEND, "--force", "--user", "sam"])
    assert forced.output.splitlines()[0] == "sam\tsent\tto sam@corp.example"
    assert [m["To"] for m in smtp.wait_for(3)][2:] == ["sam@corp.example"]


def test_a_dry_run_says_what_it_would_send_and_sends_nothing(runner, smtp, people):
    result = runner.invoke(digest_group, [*SEND, "--dry-run"])

    assert "mia\twould send\tto mia@corp.example: Resonance: your week" in result.output
    assert smtp.messages == []
    # Nothing recorded either: the real run afterwards sends.
    assert "sam\tsent" in runner.invoke(digest_group, SEND).output


def test_a_user_with_nothing_to_read_is_skipped(runner, smtp, people):
    result = runner.invoke(digest_group, ["send", "--date", "2026-01-05"])

    assert "sam\tskipped\tnothing to read this week" in result.output
    assert "mia\tskipped\tnothing to read this week" in result.output
    assert smtp.messages == []


def test_the_preview_shows_the_same_html_as_the_mail_body(
    app, runner, smtp, session, people
):
    runner.invoke(digest_group, [*SEND, "--user", "sam"])
    _, markup = parts(smtp.wait_for(1)[0])
    client = log_in(app.test_client(), people["sam"])

    page = client.get(f"/dash/digest/preview?date={RUN_DAY}").get_data(as_text=True)

    body = markup.partition("<body>")[2].rpartition("</body>")[0]
    token = re.compile(r"/digest/unsubscribe/[\w.-]+")
    assert token.sub("TOKEN", body) in token.sub("TOKEN", page)


def test_the_rendering_needs_no_request(app, session, people):
    with app.app_context():
        digest = build_digest(session, people["mia"], RUN_DAY)
        rendered = render(digest, MailSettings.from_config(app.config), "k")

    assert rendered.subject == "Resonance: your week, 23 Nov – 29 Nov 2026"
    assert rendered.text.startswith("Your week on Resonance, 23 Nov – 29 Nov 2026\n")
