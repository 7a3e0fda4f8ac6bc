"""The login and logout pages.

Owns: ``GET/POST /login`` and ``POST /logout``. Both forms carry a CSRF token
(Flask-WTF checks it before the view runs); login POSTs are rate limited per
client address and per username (:mod:`resonance.core.limits`).
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from resonance.auth.session import current_user, login_user, logout_user, safe_next
from resonance.auth.users import check_login
from resonance.core import limits
from resonance.core.db import get_session

bp = Blueprint("auth", __name__, template_folder="templates")


def _next() -> str:
    return safe_next(request.values.get("next"), url_for("dashboard.overview"))


def render_login(error: str | None = None, status: int = 200) -> Response:
    """The login form (again), with ``error`` shown above it."""
    html = render_template(
        "auth/login.html",
        next=_next(),
        error=error,
        username=(request.form.get("username") or "")[:64],
    )
    return Response(html, status=status, mimetype="text/html")


@bp.route("/login", methods=["GET", "POST"])
@limits.login
def login() -> Response:
    """Show the form; on a right name and password start a fresh session and go
    to ``next`` (a path on this host only)."""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_next())
        return render_login()
    session = get_session()
    user = check_login(
        session,
        request.form.get("username") or "",
        request.form.get("password") or "",
    )
    if user is None:
        session.rollback()
        return render_login(error="Wrong username or password.", status=401)
    session.commit()  # last_login_at
    login_user(user)
    return redirect(_next(), code=303)


@bp.post("/logout")
def logout() -> Response:
    """End the user's sessions, then show the login page."""
    logout_user()
    return redirect(url_for("auth.login"), code=303)
