"""Sending e-mail through SMTP: the one place alerts and digests leave by mail.

Settings come from the app's config, so from ``RESONANCE_SMTP_*`` in the
environment (``resonance.core.config``):

- ``SMTP_HOST`` (unset: e-mail is off, and callers say so instead of sending),
  ``SMTP_PORT`` (default 25, or 465 with ``SMTP_SECURITY=ssl``);
- ``SMTP_SECURITY``: ``starttls`` (upgrade a plain connection, the default when
  a user is set), ``ssl`` (TLS from the first byte) or ``none`` (a relay on
  localhost);
- ``SMTP_USER`` and ``SMTP_PASSWORD`` to log in, ``SMTP_FROM`` the sender
  (default ``resonance@<host name>``), ``SMTP_TIMEOUT`` seconds (default 10);
- ``PUBLIC_URL``: the dashboard's public address (``https://resonance.example``),
  for the links in messages (also used in embed tags).

No Flask here: :class:`MailSettings` is read once from a config mapping and
handed to whoever sends (the outbox worker runs outside requests).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

SECURITY = ("starttls", "ssl", "none")


class MailError(Exception):
    """The message could not be handed to the SMTP server (worth a retry)."""


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send; ``host`` None means e-mail is not configured."""

    host: str | None
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str
    timeout: float
    base_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_config(cls, config: Mapping) -> MailSettings:
        """The settings from ``app.config`` (keys without ``RESONANCE_``)."""
        user = config.get("SMTP_USER") or None
        security = str(
            config.get("SMTP_SECURITY") or ("starttls" if user else "none")
        ).lower()
        if security not in SECURITY:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}")
        port = int(config.get("SMTP_PORT") or (465 if security == "ssl" else 25))
        return cls(
            host=config.get("SMTP_HOST") or None,
            port=port,
            security=security,
            user=user,
            password=config.get("SMTP_PASSWORD") or None,
            sender=config.get("SMTP_FROM") or f"resonance@{socket.getfqdn()}",
            timeout=float(config.get("SMTP_TIMEOUT") or 10),
            base_url=str(config.get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip(
                "/"
            ),
        )


def compose(
    settings: MailSettings,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A message with a plain-text part and, when given, an HTML alternative."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(settings: MailSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server; :class:`MailError` when it cannot be
    (not configured, unreachable, refused), with the reason in words."""
    if not settings.enabled:
        raise MailError("e-mail is not configured (set RESONANCE_SMTP_HOST)")
    try:
        with _connect(settings) as smtp:
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"SMTP {settings.host}:{settings.port}: {type(exc).__name__}: {exc}"
        ) from exc


def _connect(settings: MailSettings) -> smtplib.SMTP:
    """An open connection, upgraded to TLS when the settings ask for it."""
    assert settings.host is not None
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp
