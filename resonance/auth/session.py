"""The logged-in user of a request, kept in Flask's signed cookie session.

Owns: logging in and out, loading the user of a request, the session cookie's
``Secure`` flag, and the ``next`` address after login.

Why a cookie session is safe here:

- The cookie is signed with ``SECRET_KEY`` (never a constant in code), so its
  content cannot be forged; it is HttpOnly and SameSite=Lax, and Secure over
  HTTPS. It expires after ``PERMANENT_SESSION_LIFETIME``.
- Session fixation: there is no server-side session id to plant. Login clears
  the session and writes a fresh one (user id + the user's current nonce), so
  nothing an attacker placed in the browser before (a cookie of their own, a
  CSRF token they know) survives login.
- Revocation: the cookie carries ``users.session_nonce``; logout, a password
  reset and disabling the user replace the nonce, so every copy of every cookie
  issued before stops working at its next request (logout ends the user's
  sessions on every device).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request

from resonance.auth import users
from resonance.core.db import get_session
from resonance.core.models import User


@dataclass(frozen=True)
class CurrentUser:
    """The user of this request; ``sites`` is None for an admin (every site)."""

    id: int
    username: str
    role: str
    sites: frozenset[str] | None

    def may_see(self, site_key: str) -> bool:
        """Whether pages of the site ``site_key`` may be shown to this user."""
        return self.sites is None or site_key in self.sites


def current_user() -> CurrentUser | None:
    """The logged-in user, loaded once per request; None when anonymous."""
    if "user" not in g:
        g.user = _load()
    return g.user


def visible_sites() -> tuple[str, ...] | None:
    """Site keys the current user may see; None means every site (admin)."""
    user = current_user()
    if user is None:
        return ()
    return None if user.sites is None else tuple(sorted(user.sites))


def _load() -> CurrentUser | None:
    uid, nonce = session.get("uid"), session.get("nonce")
    if not isinstance(uid, int) or not isinstance(nonce, str):
        return None
    db_session = get_session()
    user = db_session.get(User, uid)
    if (
        user is None
        or not user.enabled
        or not hmac.compare_digest(user.session_nonce, nonce)
    ):
        session.clear()  # an ended session: drop the cookie
        return None
    sites = None
    if user.role != "admin":
        sites = frozenset(users.site_keys(db_session, user))
    return CurrentUser(user.id, user.username, user.role, sites)


def login_user(user: User) -> None:
    """Start a fresh session for ``user`` (whatever the browser had is dropped)."""
    session.clear()
    session["uid"] = user.id
    session["nonce"] = user.session_nonce
    session.permanent = True
    g.pop("user", None)


def logout_user() -> None:
    """End every session of the current user and clear this one."""
    user = current_user()
    if user is not None:
        db_session = get_session()
        found = db_session.get(User, user.id)
        if found is not None:
            users.end_sessions(found)
            db_session.commit()
    session.clear()
    g.user = None


def safe_next(value: str | None, default: str) -> str:
    """``value`` when it is a path on this host, else ``default``.

    Refuses absolute URLs, scheme-relative ``//host``, backslashes (browsers read
    ``/\\host`` as ``//host``) and control characters: an open redirect after
    login would make a phishing link look like ours.
    """
    if not value or len(value) > 2000 or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session; ``SESSION_COOKIE_SECURE = "auto"`` marks
    the cookie Secure when the request came over HTTPS (seen through ProxyFix
    when ``PROXY_COUNT`` is set)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """No cookie, nothing to verify: an empty session without building the
        signing serializer (every beacon to the collector arrives without one)."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        if setting == "auto":
            return request.is_secure
        return bool(setting)
