"""Who may open which route: the one classification table, and the guard that
enforces it before every request.

Owns: :data:`ACCESS` (endpoint → :class:`Access`) and :func:`guard`. A new route
is classified by adding one line to :data:`ACCESS`; ``tests/test_auth_routes.py``
walks ``app.url_map`` and fails for a route that is not in the table. An
unclassified endpoint is treated as admin-only here, so forgetting a line never
opens a page.

Answers, in this order:

- a public route: always served;
- a ``token`` route (the CRM API): served, the view checks its bearer token; a
  dashboard login grants nothing there;
- nobody logged in: a redirect to the login page (``next`` = this page), or a
  401 JSON for JSON requests;
- a role that is not listed: 403;
- a route whose URL names a site (``<site_key>``) the user was not granted:
  404, exactly like a site that does not exist, so keys cannot be probed.
  Views scope every id in the URL (content, snapshot, lead) by that site.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, jsonify, redirect, request, url_for

from resonance.auth.session import current_user
from resonance.core.models import ROLES
from resonance.core.respond import reads_json


@dataclass(frozen=True)
class Access:
    """How a route is reached: ``kind`` is public, token or login; ``roles``
    lists who may use a login route."""

    kind: str
    roles: tuple[str, ...] = ()


PUBLIC = Access("public")
TOKEN = Access("token")


def roles(*names: str) -> Access:
    """A route for logged-in users with one of ``names``."""
    unknown = set(names) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return Access("login", names)


EVERYONE = roles(*ROLES)
CONTENT = roles("admin", "marketer", "sales")  # sales reads content pages too
SALES = roles("admin", "sales")
EDITORS = roles("admin", "marketer")
ADMIN = roles("admin")

# endpoint → access. A trailing ".*" covers a whole blueprint (only for blueprints
# that are public by nature).
ACCESS: dict[str, Access] = {
    # The snippet and the collector's site lookup: loaded by pages of other
    # sites (POST /e is answered before Flask: tracker/collector.py).
    "tracker.snippet": PUBLIC,
    "tracker.snippet_extension": PUBLIC,
    "tracker.site_config": PUBLIC,
    "tracker.collect": PUBLIC,
    # The CRM API: bearer tokens (tracker/tokens.py), never a dashboard login.
    "api.post_leads": TOKEN,
    "api.post_stages": TOKEN,
    "api.post_merge": TOKEN,
    "api.get_lead": TOKEN,
    # The wire formats' OpenAPI document: public like docs/, it holds no data.
    "openapi.openapi_json": PUBLIC,
    # The shell.
    "static": PUBLIC,
    "health": PUBLIC,
    "demo.*": PUBLIC,  # the demo marketing site and its static files
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,  # logging out needs no login (and is a CSRF-checked POST)
    # Dashboards: content.
    "dashboard.overview": EVERYONE,  # lists only the user's sites
    "dashboard.plotly_js": PUBLIC,  # the vendored plotly.js: a static file
    "dashboard.content_list": CONTENT,
    "dashboard.content_page": CONTENT,
    "dashboard.snapshot_png": CONTENT,
    # The top clicked elements table as CSV, with their selectors.
    "dashboard.elements_csv": CONTENT,
    "dashboard.take_snapshot": EDITORS,
    "kinds.set_kind": EDITORS,  # marking a conversion page, like taking a snapshot
    # Dashboards: sales.
    "sales.prospects": SALES,
    "sales.prospect_page": SALES,
    "sales.prospect_csv": SALES,
    "sales.add_prospect_note": SALES,
    "sales.influence": CONTENT,
    "accounts.accounts": SALES,
    "accounts.accounts_csv": SALES,
    "accounts.account_page": SALES,
    "accounts.account_csv": SALES,
    # Alerts: sales read them (links to prospects); rules and webhook like settings.
    "alerts.alert_list": SALES,
    "alerts.alert_rules": ADMIN,
    "alerts.set_high_intent": EDITORS,  # like marking a conversion page
    # Onboarding: sites are an admin's; the real-time panel shows granted sites.
    "sites.site_list": ADMIN,
    "sites.site_new": ADMIN,
    "sites.site_settings": ADMIN,
    "sites.install_check": ADMIN,
    "realtime.realtime": EVERYONE,
    # Who may log in: an admin's (resonance/auth/users.py has the rules).
    "users.user_list": ADMIN,
    "users.user_add": ADMIN,
    "users.user_password": ADMIN,
    "users.user_enabled": ADMIN,
    "users.user_sites": ADMIN,
    "users.user_email": ADMIN,
    "users.user_digest": ADMIN,
    # The weekly digest: one's own (admins any user's); the unsubscribe link
    # needs no login, its signed token is the credential (digest_views.py).
    "digest.preview": EVERYONE,
    "digest.subscription": EVERYONE,
    "digest_public.unsubscribe": PUBLIC,
}


def access_for(endpoint: str) -> Access | None:
    """The table's entry for ``endpoint`` (exact, else its blueprint's ``.*``)."""
    if endpoint in ACCESS:
        return ACCESS[endpoint]
    blueprint, _, _ = endpoint.rpartition(".")
    return ACCESS.get(f"{blueprint}.*") if blueprint else None


def guard():
    """``before_request``: let the request through (None) or answer it."""
    endpoint = request.endpoint
    if endpoint is None:  # 404 and 405: Flask answers
        return None
    access = access_for(endpoint) or ADMIN
    if access.kind in ("public", "token"):
        return None
    user = current_user()
    if user is None:
        return _login_required()
    if user.role not in access.roles:
        return _refuse(403, "your role may not open this page")
    site_key = (request.view_args or {}).get("site_key")
    if site_key is not None and not user.may_see(site_key):
        return _refuse(404, "not found")
    return None


def allowed(endpoint: str) -> bool:
    """Whether the current user may use ``endpoint`` (for links and buttons;
    the guard still decides)."""
    access = access_for(endpoint) or ADMIN
    if access.kind != "login":
        return True
    user = current_user()
    return user is not None and user.role in access.roles


def _login_required():
    if reads_json():
        response = jsonify(error="login required")
        response.status_code = 401
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _refuse(status: int, message: str):
    if reads_json():
        response = jsonify(error=message)
        response.status_code = status
        return response
    abort(status)
