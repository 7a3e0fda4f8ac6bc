"""Sending e-mail: a real SMTP server on 127.0.0.1 receives both parts."""

from __future__ import annotations

import pytest
from servers import free_port

from resonance.core.mail import MailError, MailSettings, compose, send


def test_a_message_arrives_with_its_text_and_html_parts(smtp):
    settings = MailSettings.from_config(smtp.config)
    message = compose(
        settings,
        "owner@corp.example",
        "Ann is back",
        "Ann read Pricing.",
        "<p>Ann read <b>Pricing</b>.</p>",
        headers={"List-Unsubscribe": "<https://r.example/unsub>"},
    )

    send(settings, message)

    (received,) = smtp.wait_for(1)
    assert received["To"] == "owner@corp.example"
    assert received["From"] == "resonance@test.example"
    assert received["Subject"] == "Ann is back"
    assert received["List-Unsubscribe"] == "<https://r.example/unsub>"
    assert received.get_body(("plain",)).get_content().strip() == "Ann read Pricing."
    html = received.get_body(("html",)).get_content()
    assert "<b>Pricing</b>" in html
    assert smtp.recipients == [["owner@corp.example"]]


def test_an_unreachable_server_is_a_mail_error_naming_it():
    settings = MailSettings.from_config(
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_TIMEOUT": 2}
    )

    with pytest.raises(MailError, match=r"SMTP 127\.0\.0\.1:\d+: ConnectionRefused"):
        send(settings, compose(settings, "a@b.example", "s", "t"))


def test_unconfigured_mail_says_which_setting_is_missing():
    settings = MailSettings.from_config({})

    assert settings.enabled is False
    with pytest.raises(MailError, match="RESONANCE_SMTP_HOST"):
        send(settings, compose(settings, "a@b.example", "s", "t"))


def test_security_defaults_to_starttls_with_a_login_and_ssl_to_port_465():
    assert MailSettings.from_config({"SMTP_USER": "u"}).security == "starttls"
    assert MailSettings.from_config({}).security == "none"
    assert MailSettings.from_config({"SMTP_SECURITY": "ssl"}).port == 465
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        MailSettings.from_config({"SMTP_SECURITY": "tls1.0"})
