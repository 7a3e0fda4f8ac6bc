"""The outbox delivers alerts: by e-mail to a real SMTP server (parsed: To,
subject, text and HTML parts, links back), by a signed webhook to a real HTTP
receiver, retried with backoff while the receiver fails, given up after a day,
never lost or sent twice across a restart; an erased lead leaves nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from resonance.core.mail import MailSettings
from resonance.core.models import Alert, AlertDelivery, Site
from tests.conftest import count
from tests.test_alerts_rules import BLOG, T0, known_lead, store, view
from tracker import outbox
from tracker.lifecycle import erase

PUBLIC = "https://resonance.example"
SECRET = "s3cret-for-tests"
NOW = T0.replace(tzinfo=None)


class Receiver(BaseHTTPRequestHandler):
    """Keeps what it is posted; answers 500 while ``fail`` is above zero."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.posts.append((dict(self.headers), raw))
        if server.fail > 0:
            server.fail -= 1
            self.send_response(500)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.posts, server.fail = [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield server
    server.shutdown()
    server.server_close()


def mail_settings(smtp=None) -> MailSettings:
    return MailSettings.from_config(
        {**(smtp.config if smtp else {}), "PUBLIC_URL": PUBLIC}
    )


def deliver(app, mail, at):
    return outbox.deliver_due(app.extensions["resonance.sessionmaker"], mail, now=at)


def states(session) -> list[tuple]:
    session.expire_all()
    return session.execute(
        select(
            AlertDelivery.channel,
            AlertDelivery.state,
            AlertDelivery.attempts,
            AlertDelivery.next_attempt_at,
        ).order_by(AlertDelivery.id)
    ).all()


def pricing_alert(session, site, webhook: str | None = None, at=T0):
    if webhook:
        session.execute(
            update(Site)
            .where(Site.id == site.id)
            .values(webhook_url=webhook, webhook_secret=SECRET)
        )
        session.commit()
    lead = known_lead(session, owner="sam@vendor.example", company="Redwing", at=at)
    store(session, view(f"{BLOG}/pricing", at), now=at)
    return lead


def test_the_owner_gets_an_email_with_text_html_and_links_back(
    app, session, site, smtp
) -> None:
    lead = pricing_alert(session, site)
    done = deliver(app, mail_settings(smtp), NOW)
    [message] = smtp.wait_for(1)
    [delivery_id] = done.sent
    assert message["To"] == "sam@vendor.example"
    assert (
        message["Subject"] == "[Resonance] Ann Lee (Redwing) read Pricing (high intent)"
    )
    assert message["Message-ID"] == f"<alert-delivery-{delivery_id}@test.example>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"{PUBLIC}/dash/sites/blog/prospects/{lead.id}"
    assert f"Open the prospect: {link}" in text
    assert "Page: Pricing (https://blog.example.com/pricing)" in text
    assert f"<a href='{link}'>Open the prospect</a>" in html
    assert states(session) == [("email", "sent", 1, NOW + outbox.LEASE)]
    assert deliver(app, mail_settings(smtp), NOW + timedelta(hours=2)).total == 0


def test_the_webhook_is_slack_compatible_signed_json(
    app, session, site, receiver
) -> None:
    lead = pricing_alert(session, site, webhook=receiver.url)
    deliver(app, mail_settings(), NOW)  # no SMTP: the e-mail waits, the hook goes
    [(headers, raw)] = receiver.posts
    stamp = headers["Resonance-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + raw, hashlib.sha256)
    assert headers["Resonance-Signature"] == "sha256=" + expected.hexdigest()
    body = json.loads(raw)
    link = f"{PUBLIC}/dash/sites/blog/prospects/{lead.id}"
    assert body["text"] == (
        f"Ann Lee (Redwing) read Pricing (high intent) <{link}|Open prospect>"
    )
    alert = body["alert"]
    assert headers["Resonance-Delivery"] == str(alert["delivery_id"])
    assert (alert["rule"], alert["site"]["key"], alert["prospect_url"]) == (
        "high_intent",
        "blog",
        link,
    )
    assert alert["lead"] == {
        "id": lead.id,
        "email": "ann.lee@gmail.com",
        "name": "Ann Lee",
        "company": "Redwing",
        "stage": None,
        "owner": "sam@vendor.example",
    }
    assert alert["content"] == {"url": f"{BLOG}/pricing", "title": "Pricing"}
    assert [s[:2] for s in states(session)] == [
        ("email", "pending"),
        ("webhook", "sent"),
    ]


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    app, session, site, receiver
) -> None:
    session.execute(
        update(Site).where(Site.id == site.id).values(webhook_url=receiver.url)
    )
    session.commit()
    known_lead(session)  # no owner: only the webhook
    store(session, view(f"{BLOG}/pricing", T0))
    receiver.fail = 3
    at, waits = NOW, []
    for _ in range(4):
        done = deliver(app, mail_settings(), at)
        [(_, state, attempts, next_at)] = states(session)
        waits.append((len(done.sent), state, attempts, (next_at - at).seconds))
        at = next_at
    assert waits == [
        (0, "pending", 1, 10),
        (0, "pending", 2, 30),
        (0, "pending", 3, 120),
        (1, "sent", 4, 60),  # the lease it was sent under
    ]
    assert len(receiver.posts) == 4
    assert len({h["Resonance-Delivery"] for h, _ in receiver.posts}) == 1
    [error] = session.scalars(select(AlertDelivery.last_error)).all()
    assert error is None


def test_a_delivery_failing_for_a_day_is_given_up_and_says_why(
    app, session, site
) -> None:
    pricing_alert(session, site)
    deliver(app, mail_settings(), NOW)  # no SMTP configured
    deliver(app, mail_settings(), NOW + timedelta(hours=24))
    session.expire_all()
    [(state, error)] = session.execute(
        select(AlertDelivery.state, AlertDelivery.last_error)
    ).all()
    assert state == "failed"
    assert error == "e-mail is not configured (set RESONANCE_SMTP_HOST)"


def test_a_leased_row_whose_worker_died_is_sent_after_the_lease(
    app, session, site, smtp
) -> None:
    pricing_alert(session, site)
    with app.extensions["resonance.sessionmaker"]() as dying:
        assert len(outbox.claim(dying, NOW)) == 1  # …and the worker dies here
    assert deliver(app, mail_settings(smtp), NOW + timedelta(seconds=59)).total == 0
    done = deliver(app, mail_settings(smtp), NOW + timedelta(seconds=60))
    assert len(done.sent) == 1
    assert len(smtp.wait_for(1)) == 1
    assert states(session)[0][1:3] == ("sent", 2)


def test_a_pending_row_survives_a_new_app(
    app, session, site, smtp, database_url
) -> None:
    from resonance.app import create_app

    pricing_alert(session, site)
    app.extensions["resonance.engine"].dispose()  # the server stops
    again = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x"}
    )
    assert len(deliver(again, mail_settings(smtp), NOW).sent) == 1
    assert smtp.wait_for(1)[0]["To"] == "sam@vendor.example"
    again.extensions["resonance.engine"].dispose()


def test_two_workers_never_claim_the_same_row(app, session, site) -> None:
    pricing_alert(session, site)
    maker = app.extensions["resonance.sessionmaker"]
    with maker() as one, maker() as two:
        assert (len(outbox.claim(one, NOW)), len(outbox.claim(two, NOW))) == (1, 0)


def test_an_erased_lead_leaves_nothing_in_the_outbox(app, session, site) -> None:
    pricing_alert(session, site, webhook="http://127.0.0.1:9/hook")
    assert (count(session, Alert), count(session, AlertDelivery)) == (1, 2)
    result = erase(session, email="ann.lee@gmail.com", actor="dpo", now=NOW)
    session.commit()
    assert (count(session, Alert), count(session, AlertDelivery)) == (0, 0)
    assert (result.removed["alerts"], result.removed["alert_deliveries"]) == (1, 2)


def test_resonance_alerts_deliver_sends_the_due_ones(
    app, runner, session, site, smtp
) -> None:
    from resonance.cli import cli

    # The command reads the real clock: the read happened a minute ago, so its
    # alert is due however soon after the suite started this runs (T0 is 10 s
    # after the tests' import).
    pricing_alert(session, site, at=T0 - timedelta(minutes=1))
    app.config.update(smtp.config)
    result = runner.invoke(cli, ["alerts", "deliver"])
    assert result.output == "1 sent, 0 to retry, 0 failed\n"
    assert smtp.wait_for(1)[0]["To"] == "sam@vendor.example"


def test_a_command_starts_no_alert_thread_unless_the_environment_asks(
    tmp_path, monkeypatch
) -> None:
    """``resonance rebuild-summaries`` on SQLite once printed "database is
    locked" from an alert thread competing with the command's writes."""
    from resonance.cli import ALERTS_ENV, create_command_app

    monkeypatch.setenv("RESONANCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'commands.db'}")
    monkeypatch.delenv(ALERTS_ENV, raising=False)
    command = create_command_app()
    assert "resonance.alerts" not in command.extensions
    command.extensions["resonance.engine"].dispose()

    monkeypatch.setenv(ALERTS_ENV, "true")
    development_server = create_command_app()
    assert "resonance.alerts" in development_server.extensions
    development_server.extensions["resonance.engine"].dispose()
