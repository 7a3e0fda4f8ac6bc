"""The header's navigation: the sections of the site a page is about, the pages
of the whole installation, and where each role lands.

Owns: which links the header shows (:func:`navigation`, called by ``base.html``
only when someone is logged in, so the login form and a 503 page ask nothing of
the database) and the landing page of a role (:func:`landing`). Every link is
checked with :func:`resonance.auth.access.allowed`, the table the guard
enforces, so the header never offers a page that would answer 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request, url_for
from sqlalchemy import select

from resonance.auth.access import allowed
from resonance.auth.session import CurrentUser, current_user, visible_sites
from resonance.core.db import get_session
from resonance.core.models import Site


@dataclass(frozen=True)
class Link:
    """One entry of the header; ``current`` marks the page being shown."""

    label: str
    href: str
    current: bool = False


@dataclass(frozen=True)
class SiteNav:
    """The site a page is about: its sections, and the user's other sites to
    switch to (the same section there)."""

    key: str
    name: str
    sections: list[Link]
    others: list[Link]


@dataclass(frozen=True)
class Nav:
    """The whole header: installation-wide links and, on a site's pages, the
    site's own."""

    main: list[Link]
    site: SiteNav | None


# A site's sections: label, list endpoint, endpoints that belong to it.
SECTIONS = (
    ("Content", "dashboard.content_list", ("dashboard.content_page",)),
    ("Prospects", "sales.prospects", ("sales.prospect_page",)),
    ("Accounts", "accounts.accounts", ("accounts.account_page",)),
    ("Alerts", "alerts.alert_list", ("alerts.alert_rules",)),
    ("Influence", "sales.influence", ()),
    ("Settings", "sites.site_settings", ()),
)
# Installation-wide pages: label, endpoint, endpoints that belong to it.
MAIN = (
    ("Overview", "dashboard.overview", ()),
    ("Sites", "sites.site_list", ("sites.site_new",)),
    ("Users", "users.user_list", ("users.user_add", "users.user_password")),
    ("Digest", "digest.preview", ("digest.subscription",)),
)
# Where a role starts on a site; others start with its content.
HOME = {"sales": "sales.prospects"}
DEFAULT_HOME = "dashboard.content_list"


def landing(user: CurrentUser | None) -> str | None:
    """Where ``user`` starts instead of the overview: sales, on the prospects
    of their first site (None: the overview is their start)."""
    if user is None or user.role not in HOME or not user.sites:
        return None
    return url_for(HOME[user.role], site_key=min(user.sites))


def navigation() -> Nav:
    """The header of this request's page (computed once per request)."""
    if "nav" not in g:
        g.nav = _build(current_user())
    return g.nav


def _build(user: CurrentUser | None) -> Nav:
    if user is None:
        return Nav([], None)
    endpoint = request.endpoint or ""
    main = [
        Link(label, url_for(target), endpoint == target or endpoint in members)
        for label, target, members in MAIN
        if allowed(target) and (target != "dashboard.overview" or not landing(user))
    ]
    return Nav(main, _site_nav(user, endpoint))


def _site_nav(user: CurrentUser, endpoint: str) -> SiteNav | None:
    """The sections of the site in the URL, if it exists and ``user`` sees it."""
    key = (request.view_args or {}).get("site_key")
    if not isinstance(key, str) or not user.may_see(key):
        return None
    sites = _sites()
    if key not in sites:
        return None
    current = _section_of(endpoint)
    sections = [
        Link(label, url_for(target, site_key=key), current == target)
        for label, target, _ in SECTIONS
        if allowed(target)
    ]
    switch_to = current or HOME.get(user.role, DEFAULT_HOME)
    others = [
        Link(name, url_for(switch_to, site_key=other))
        for other, name in sites.items()
        if other != key
    ]
    return SiteNav(key, sites[key], sections, others)


def _section_of(endpoint: str) -> str | None:
    """The list endpoint of the section ``endpoint`` belongs to."""
    for _, target, members in SECTIONS:
        if endpoint == target or endpoint in members:
            return target
    return None


def _sites() -> dict[str, str]:
    """The user's sites, key → name, by name."""
    stmt = select(Site.key, Site.name).order_by(Site.name, Site.key)
    keys = visible_sites()
    if keys is not None:
        stmt = stmt.where(Site.key.in_(keys))
    return {key: name for key, name in get_session().execute(stmt)}
