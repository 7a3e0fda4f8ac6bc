"""Dashboard users: create, list, disable, reset passwords, check a login.

Owns: the ``users`` and ``user_sites`` tables. No Flask here: the CLI, the login
view and the tests call the same functions.

Passwords are hashed with werkzeug's default KDF, scrypt (N=2^15, r=8, p=1; about
0.1 s and 32 MiB per hash), salted per password: memory-hard like argon2, with no
extra dependency, and the method is recorded in each hash so it can be raised
later without invalidating old ones.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from resonance.core.clock import naive_utc
from resonance.core.models import ROLES, Site, User, UserSite
from resonance.core.sizes import EMAIL_LEN

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}\Z")
# One address, no display name: a local part, "@", a domain with a dot. No
# whitespace, so no line break can reach a mail header through it.
EMAIL = re.compile(
    r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+\Z"
)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # a KDF over megabytes of input is a cheap denial of service
# Checked against when the user does not exist, so a wrong name takes as long as
# a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A refused user operation; the message says why (shown to the admin)."""


@dataclass(frozen=True)
class UserInfo:
    """What may be shown of a user: never the password hash or session nonce."""

    id: int
    username: str
    role: str
    enabled: bool
    sites: tuple[str, ...]
    created_at: datetime
    last_login_at: datetime | None
    # Where alerts and the weekly digest go (None: nowhere), and the unsubscribe.
    email: str | None = None
    digest_opt_out: bool = False


def new_password() -> str:
    """A random password for a generated account (about 96 bits)."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    """The stored form of ``password`` (scrypt, salted); refuses weak input."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return generate_password_hash(password)


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    sites: list[str] = (),
    now: datetime | None = None,
    email: str | None = None,
) -> User:
    """Add a user with ``role`` and access to ``sites`` (keys), and optionally
    the e-mail address digests and alerts go to. Give either the password or an
    already computed hash. Does not commit."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError("a username is 1 to 64 lowercase letters, digits and . _ @ + -")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"user {username!r} exists already")
    address = valid_email(email) if email else None
    if password_hash is None:
        password_hash = hash_password(password or "")
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        enabled=True,
        session_nonce=secrets.token_urlsafe(24),
        created_at=naive_utc(now),
        email=address,
    )
    session.add(user)
    session.flush()
    grant_sites(session, user, sites)
    return user


def grant_sites(session: Session, user: User, keys: list[str]) -> None:
    """Give ``user`` access to the sites ``keys`` (each must exist)."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return
    rows = session.execute(select(Site.key, Site.id).where(Site.key.in_(keys)))
    found = {key: site_id for key, site_id in rows}
    if missing := [key for key in keys if key not in found]:
        raise UserError(f"no site with key {', '.join(map(repr, missing))}")
    granted = set(
        session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id))
    )
    session.add_all(
        UserSite(user_id=user.id, site_id=found[key])
        for key in keys
        if found[key] not in granted
    )
    session.flush()


def revoke_sites(session: Session, user: User, keys: list[str]) -> None:
    """Take away ``user``'s access to the sites ``keys``."""
    ids = select(Site.id).where(Site.key.in_(keys))
    session.execute(
        delete(UserSite).where(UserSite.user_id == user.id, UserSite.site_id.in_(ids))
    )


def find_user(session: Session, username: str) -> User:
    """The user named ``username``; :class:`UserError` when there is none."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the password; every open session of the user ends."""
    user.password_hash = hash_password(password)
    end_sessions(user)


def valid_email(address: str) -> str:
    """``address`` trimmed, with its domain in lowercase; :class:`UserError`
    when it is not one plain address (mail headers are built from it)."""
    address = address.strip()
    if len(address) > EMAIL_LEN or not EMAIL.match(address):
        raise UserError("an e-mail address looks like name@example.com")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def set_email(user: User, address: str | None) -> None:
    """Set (or with None or "" remove) where ``user``'s digests and alerts go."""
    user.email = valid_email(address) if address and address.strip() else None


def set_digest(user: User, receive: bool) -> None:
    """Subscribe ``user`` to the weekly digest again, or unsubscribe them."""
    user.digest_opt_out = not receive


def set_enabled(user: User, enabled: bool) -> None:
    """Disable (every session ends at its next request) or re-enable a user."""
    user.enabled = enabled
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to ``user`` so far."""
    user.session_nonce = secrets.token_urlsafe(24)


def check_login(
    session: Session, username: str, password: str, now: datetime | None = None
) -> User | None:
    """The enabled user with this name and password, else None.

    Takes one KDF run whatever the outcome (unknown name, wrong password,
    disabled account), so timing tells nothing about which accounts exist.
    """
    user = session.scalar(
        select(User).where(User.username == username.strip().lower()[:64])
    )
    password = password[:MAX_PASSWORD]
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.enabled:
        return None
    user.last_login_at = naive_utc(now)
    return user


def site_keys(session: Session, user: User) -> tuple[str, ...]:
    """The keys of the sites ``user`` may see (every site for an admin)."""
    query = select(Site.key).order_by(Site.key)
    if user.role != "admin":
        query = query.join(UserSite, UserSite.site_id == Site.id).where(
            UserSite.user_id == user.id
        )
    return tuple(session.scalars(query))


def all_site_keys(session: Session) -> tuple[str, ...]:
    """Every site's key, sorted: what an admin sees, and what may be granted."""
    return tuple(session.scalars(select(Site.key).order_by(Site.key)))


def list_users(session: Session) -> list[UserInfo]:
    """Every user with the sites granted (an admin: every site), by name."""
    every_site = all_site_keys(session)
    granted: dict[int, list[str]] = {}
    grants = session.execute(
        select(UserSite.user_id, Site.key)
        .join(Site, Site.id == UserSite.site_id)
        .order_by(Site.key)
    )
    for user_id, key in grants:
        granted.setdefault(user_id, []).append(key)
    return [
        UserInfo(
            id=u.id,
            username=u.username,
            role=u.role,
            enabled=u.enabled,
            sites=every_site if u.role == "admin" else tuple(granted.get(u.id, ())),
            created_at=u.created_at,
            last_login_at=u.last_login_at,
            email=u.email,
            digest_opt_out=u.digest_opt_out,
        )
        for u in session.scalars(select(User).order_by(User.username))
    ]
