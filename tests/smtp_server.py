"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for
the alert and digest tests: messages are parsed as a mail client would."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from servers import free_port


@dataclass
class Inbox:
    """What the server received: parsed messages and their envelopes."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        with self.arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until ``count`` messages arrived (or fail after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.messages)} of {count} messages in {timeout} s"
                    )
                self.arrived.wait(left)
            return list(self.messages)

    @property
    def config(self) -> dict[str, object]:
        """App config sending to this server."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "resonance@test.example",
        }


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """An SMTP server on a free port of 127.0.0.1 for the ``with`` block."""
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
