"""Alert webhooks: the JSON body, its signature and the POST.

Owns: the documented webhook format (``docs/alerts.md``). The body is
Slack-compatible (a ``text`` line, so a Slack incoming webhook URL works as is)
with the alert's facts beside it under ``alert`` for CRMs and scripts.

Signed like this, so a receiver can check it came from us and is fresh:

- ``Resonance-Timestamp``: Unix seconds when it was sent;
- ``Resonance-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the
  site's webhook secret, of ``<timestamp>.<raw body bytes>`` (the timestamp, a
  full stop, then the body exactly as received);
- ``Resonance-Delivery``: the outbox row's id, the same on every retry, so a
  receiver can drop a repeat.

Any answer other than 2xx, or none within 5 seconds, is a failure the outbox
retries. Must not import: Flask, the dashboard.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request

TIMEOUT_S = 5.0
USER_AGENT = "Resonance-Alerts/1"


class WebhookError(Exception):
    """The receiver did not take the alert (worth a retry), in words."""


def new_secret() -> str:
    """A webhook secret: 32 random bytes as hex (64 characters)."""
    return secrets.token_hex(32)


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(alert: dict) -> bytes:
    """The webhook body of an alert (``alert`` as :func:`tracker.outbox.facts`
    builds it): a Slack line with a link to the prospect, and the facts."""
    text = f"{slack_escape(alert['summary'])} <{alert['prospect_url']}|Open prospect>"
    return json.dumps({"text": text, "alert": alert}, ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    """``sha256=<hex>`` of ``<timestamp>.<raw body>`` keyed with ``secret``."""
    signed = str(timestamp).encode() + b"." + raw
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def post(
    url: str,
    raw: bytes,
    *,
    secret: str | None,
    delivery_id: int,
    timestamp: int,
    timeout: float = TIMEOUT_S,
) -> int:
    """POST ``raw`` to ``url``, signed; the status when 2xx, else
    :class:`WebhookError` with what happened."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Resonance-Delivery": str(delivery_id),
        "Resonance-Timestamp": str(timestamp),
    }
    if secret:
        headers["Resonance-Signature"] = signature(secret, timestamp, raw)
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookError(f"not an http(s) URL: {url[:100]}")
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code} {exc.reason} from {url[:200]}") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"{type(exc).__name__}: {reason} ({url[:200]})") from exc
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status} from {url[:200]}")
    return status
