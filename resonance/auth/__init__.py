"""Access control: users and roles, login and logout, CSRF, the route guard.

Owns: wiring these into the app (:func:`init_app`). The pieces:

- :mod:`resonance.auth.users`: users, password hashes, site grants (no Flask);
- :mod:`resonance.auth.session`: the logged-in user of a request;
- :mod:`resonance.auth.access`: which role may open which route (one table);
- :mod:`resonance.auth.views`: the login and logout pages;
- :mod:`resonance.auth.cli`: ``resonance user ...``.

Roles: ``admin`` (every site; users, tokens, settings), ``marketer`` (content
dashboards of granted sites, snapshots, reads sales notes), ``sales`` (prospect
pages and notes of granted sites; content pages read-only).
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from resonance.auth.access import allowed, guard
from resonance.auth.session import SessionInterface, current_user
from resonance.core import limits
from resonance.core.respond import reads_json


def init_app(app: Flask) -> None:
    """Protect ``app``: call after every blueprint is registered."""
    from resonance.auth.views import bp, render_login

    app.register_blueprint(bp)
    # A person refused by a rate limit sees the login form again, with why.
    app.extensions[limits.PAGE_EXTENSION] = lambda message: render_login(
        error=message, status=429
    )
    app.session_interface = SessionInterface()
    # Registered before CSRFProtect's own hook: a request that may not reach a
    # route at all is refused (login, 403, 404) before its token is looked at.
    app.before_request(guard)
    csrf = CSRFProtect()
    csrf.init_app(app)
    # The collector is posted to by other sites' pages and holds no session; the
    # CRM API authenticates each request with its bearer token.
    for name in ("tracker", "api"):
        csrf.exempt(app.blueprints[name])
    app.register_error_handler(CSRFError, _csrf_refused)

    # A function, not a value: only pages that show the user load it.
    app.context_processor(lambda: {"current_user": current_user, "allowed": allowed})


def _csrf_refused(error: CSRFError):
    """400: the form was not ours (or is from before login/logout). The login
    form is shown again with a fresh token rather than a bare error page."""
    if reads_json() or request.path.startswith("/api/"):
        response = jsonify(error=f"CSRF check failed: {error.description}")
        response.status_code = 400
        return response
    if request.endpoint == "auth.login":
        from resonance.auth.views import render_login

        return render_login(error="The form had expired: log in again.", status=400)
    return error
