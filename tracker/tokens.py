"""Bearer tokens of the CRM API: create, list, revoke, authenticate.

Owns: the ``api_tokens`` table. Only a token's SHA-256 is stored, so a copy of the
database gives no access; the plaintext is shown once, at creation. Looking a
token up by its hash (rather than comparing plaintexts) keeps the comparison's
timing independent of the secret. Each token belongs to one site and can only
ever reach that site's leads.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.models import ApiToken

PREFIX = "rs_"
NAME_LEN = 200
# "rs_" + token_urlsafe(32) is 46 characters; anything far longer is not ours.
MAX_TOKEN_LEN = 200


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: never its secret or its hash."""

    id: int
    site_id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, site_id: int, name: str, now: datetime) -> str:
    """Create a token for ``site_id``; return its plaintext (shown once only)."""
    name = name.strip()
    if not name or len(name) > NAME_LEN:
        raise ValueError(f"a token needs a name of 1 to {NAME_LEN} characters")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            site_id=site_id,
            name=name,
            token_hash=hash_token(token),
            created_at=naive_utc(now),
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token_id: int, now: datetime) -> bool:
    """Revoke a token from now on; False when there is no such active token."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=naive_utc(now))
    )
    return result.rowcount == 1


def list_tokens(session: Session, site_id: int | None = None) -> list[TokenInfo]:
    """Tokens (of one site, or all), oldest first, without their secrets."""
    query = select(ApiToken).order_by(ApiToken.id)
    if site_id is not None:
        query = query.where(ApiToken.site_id == site_id)
    return [
        TokenInfo(
            id=token.id,
            site_id=token.site_id,
            name=token.name,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )
        for token in session.scalars(query)
    ]


def authenticate(
    session: Session, header_value: str | None, now: datetime | None = None
) -> ApiToken | None:
    """The active token of an ``Authorization: Bearer …`` header, or None.

    Records ``last_used_at`` in the caller's transaction.
    """
    token = bearer(header_value)
    if token is None:
        return None
    digest = hash_token(token)
    found = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
        )
    )
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        return None
    found.last_used_at = naive_utc(now)
    return found


def bearer(header_value: str | None) -> str | None:
    """The token of a ``Bearer`` authorization header, or None if malformed."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LEN:
        return None
    return token
