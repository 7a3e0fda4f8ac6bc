"""The e-mail of an alert: subject, plain text and HTML, links back.

Owns: what the lead's owner reads. The links are absolute, from ``PUBLIC_URL``
(:attr:`MailSettings.base_url`), to the prospect page and the alerts page. The
Message-ID is made from the delivery's id, so a message sent twice (a crash
between the send and its mark, see ``tracker.outbox``) is one message to a mail
client that drops duplicates. Everything from a browser (names, titles, URLs)
is escaped in the HTML part.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from email.message import EmailMessage
from html import escape

from resonance.core.mail import MailSettings, compose

RULE_NAMES = {
    "returning": "came back",
    "high_intent": "read a high-intent page",
    "second_person": "a second person from the account",
}


def message(mail: MailSettings, to: str, alert: dict) -> EmailMessage:
    """The alert's message to ``to`` (``alert`` as ``tracker.outbox.facts``)."""
    domain = mail.sender.rpartition("@")[2] or "resonance.invalid"
    msg = compose(
        mail,
        to,
        f"[Resonance] {alert['summary']}",
        text(alert),
        html(alert),
        headers={"Resonance-Delivery": str(alert["delivery_id"])},
    )
    del msg["Message-ID"]
    msg["Message-ID"] = f"<alert-delivery-{alert['delivery_id']}@{domain}>"
    return msg


def _lines(alert: dict) -> list[tuple[str, str]]:
    lead, content = alert["lead"], alert["content"] or {}
    rows = [
        ("Rule", RULE_NAMES.get(alert["rule"], alert["rule"])),
        ("Lead", lead["name"] or lead["email"] or f"#{lead['id']}"),
        ("E-mail", lead["email"] or ""),
        ("Account", alert["account"] or lead["company"] or ""),
        ("Stage", lead["stage"] or ""),
        ("Page", f"{content.get('title') or ''} ({content.get('url') or ''})"),
        ("Site", alert["site"]["name"]),
    ]
    if alert.get("days_away"):
        rows.insert(1, ("Away", f"{alert['days_away']} days"))
    return [(k, v) for k, v in rows if v]


def text(alert: dict) -> str:
    body = [alert["summary"], ""]
    body += [f"{key}: {value}" for key, value in _lines(alert)]
    body += [
        "",
        f"Open the prospect: {alert['prospect_url']}",
        f"All alerts: {alert['alerts_url']}",
        "",
        "Sent by Resonance because you own this lead in the CRM.",
    ]
    return "\n".join(body) + "\n"


def html(alert: dict) -> str:
    rows = "".join(
        f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
        for k, v in _lines(alert)
    )
    prospect = escape(alert["prospect_url"])
    return (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<p><strong>{escape(alert['summary'])}</strong></p>"
        f"<table cellpadding='4'>{rows}</table>"
        f"<p><a href='{prospect}'>Open the prospect</a>"
        f" · <a href='{escape(alert['alerts_url'])}'>All alerts</a></p>"
        "<p style='color:#666'>Sent by Resonance because you own this lead in the"
        " CRM.</p></body></html>"
    )
