"""The users page (admin): who may log in, with which role and to which sites.

Owns: form → :mod:`resonance.auth.users` (every rule lives there, shared with
``resonance user …``) → the page again. What the CLI does, an admin can now do
without a shell: add a user, reset a password, disable or enable an account,
change the sites a marketer or salesperson sees, set the e-mail address the
weekly digest and alerts go to, and subscribe a user to the digest again.

Passwords are generated (about 96 bits) and shown once, in the answer to the
post that made them, never stored anywhere but as their scrypt hash: the page
is rendered in place rather than redirected, because a redirect would have to
carry the password through the session cookie. Disabling an account or
resetting its password ends every session it had. An admin cannot disable
their own account (the last admin locking everyone out takes a shell to undo).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from resonance.auth import users
from resonance.auth.session import current_user
from resonance.core.clock import iso_utc
from resonance.core.db import get_session
from resonance.core.models import ROLES
from resonance.core.respond import page_or_json

bp = Blueprint("users", __name__, url_prefix="/dash/users")
PAGE = "dashboard/users.html"

ROLE_HELP = {
    "admin": "every site; sites, users and settings",
    "marketer": "content pages of its sites; snapshots",
    "sales": "prospects and notes of its sites; content pages read-only",
}


@bp.get("/")
def user_list() -> Response:
    """Every user with role, state, sites and last login, and the add form (or
    the list as JSON: never a password hash)."""
    listed = users.list_users(get_session())
    twin = [
        asdict(u)
        | {
            "created_at": iso_utc(u.created_at),
            "last_login_at": iso_utc(u.last_login_at),
        }
        for u in listed
    ]
    return page_or_json(PAGE, {"users": twin}, lambda: _context(listed))


@bp.post("/")
def user_add() -> tuple[str, int]:
    """Add a user with a generated password, shown once in the answer."""
    form = {
        "username": request.form.get("username") or "",
        "role": request.form.get("role") or "",
        "sites": request.form.getlist("sites"),
        "email": request.form.get("email") or "",
    }
    password = users.new_password()
    session = get_session()
    try:
        user = users.create_user(
            session,
            form["username"],
            form["role"],
            password=password,
            sites=form["sites"],
            email=form["email"],
        )
    except users.UserError as exc:
        session.rollback()
        return _page(error=str(exc), form=form), 400
    session.commit()
    return _page(shown=(user.username, password)), 201


@bp.post("/<username>/password")
def user_password(username: str) -> str:
    """Reset a password to a generated one (shown once); sessions end."""
    session = get_session()
    user = _user(username)
    password = users.new_password()
    users.set_password(session, user, password)
    session.commit()
    return _page(shown=(user.username, password))


@bp.post("/<username>/enabled")
def user_enabled(username: str) -> Response | tuple[str, int]:
    """Disable (sessions end at once) or enable an account."""
    session = get_session()
    user = _user(username)
    enable = request.form.get("enabled") == "1"
    if not enable and user.id == current_user().id:
        return _page(error="You cannot disable your own account."), 400
    users.set_enabled(user, enable)
    session.commit()
    return redirect(url_for("users.user_list"), 303)


@bp.post("/<username>/sites")
def user_sites(username: str) -> Response | tuple[str, int]:
    """Make the user's granted sites exactly the boxes ticked."""
    session = get_session()
    user = _user(username)
    wanted = set(request.form.getlist("sites"))
    granted = set(users.site_keys(session, user))
    try:
        users.grant_sites(session, user, sorted(wanted - granted))
    except users.UserError as exc:
        session.rollback()
        return _page(error=str(exc)), 400
    users.revoke_sites(session, user, sorted(granted - wanted))
    session.commit()
    return redirect(url_for("users.user_list"), 303)


@bp.post("/<username>/email")
def user_email(username: str) -> Response | tuple[str, int]:
    """Set (or, empty, remove) where the user's digest and alerts go."""
    session = get_session()
    user = _user(username)
    try:
        users.set_email(user, request.form.get("email"))
    except users.UserError as exc:
        session.rollback()
        return _page(error=f"{user.username}: {exc}"), 400
    session.commit()
    return redirect(url_for("users.user_list"), 303)


@bp.post("/<username>/digest")
def user_digest(username: str) -> Response:
    """Subscribe the user to the weekly digest again (``receive=1``) or not."""
    session = get_session()
    users.set_digest(_user(username), request.form.get("receive") == "1")
    session.commit()
    return redirect(url_for("users.user_list"), 303)


def _user(username: str):
    """The user in the URL; 404 when there is none."""
    try:
        return users.find_user(get_session(), username)
    except users.UserError:
        abort(404)


def _page(
    *,
    shown: tuple[str, str] | None = None,
    error: str | None = None,
    form: dict | None = None,
) -> str:
    """The page again after a post: the list as it is now, and what the post
    made (a password shown once) or why it was refused."""
    listed = users.list_users(get_session())
    return render_template(PAGE, **_context(listed, shown, error, form))


def _context(
    listed: list[users.UserInfo],
    shown: tuple[str, str] | None = None,
    error: str | None = None,
    form: dict | None = None,
) -> dict:
    """The page's context from the list the caller already read (the JSON
    twin is built from the same list)."""
    return {
        "users": listed,
        "site_keys": users.all_site_keys(get_session()),
        "roles": ROLES,
        "role_help": ROLE_HELP,
        "me": current_user().username,
        "shown": shown,
        "error": error,
        "form": form or {"username": "", "role": "marketer", "sites": [], "email": ""},
    }
