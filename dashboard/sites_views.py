"""The sites page (admin): list, add and edit sites; each site's embed tag, its
JavaScript API, and a live installation check.

Owns: form → :mod:`tracker.sites` (every check lives there, shared with
``resonance site add/edit``) → redirect (post/redirect/get), or the form again
with each error beside its field; the installation check's JSON. One blueprint,
so an admin-role check can wrap it whole with ``bp.before_request``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from dashboard import realtime_views
from dashboard.queries.realtime import last_event_times, latest_events
from resonance.core.clock import iso_utc, local_time
from resonance.core.db import get_session
from resonance.core.models import PRIVACY_MODES, Site
from resonance.core.respond import page_or_json
from tracker.crm import DEFAULT_REACHED_SALES, FUNNEL
from tracker.inject import normalise_host
from tracker.sites import SiteInvalid, create_site, time_zones, update_site
from tracker.sites import embed_tag as site_embed_tag

bp = Blueprint("sites", __name__, url_prefix="/dash/sites", template_folder="templates")

# Commonly used zones first in the picker; every IANA name is accepted.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
)
NEW_PAGE = "dashboard/site_new.html"
SETTINGS_PAGE = "dashboard/site_settings.html"
PRIVACY_HELP = {
    "anonymous": "no storage, no identify: a visitor is a daily hash",
    "consented": "first-party id and identify after resonance('consent', true)",
    "always": "first-party id in localStorage, identify allowed",
}


@bp.get("/")
def site_list() -> Response:
    """Every site with its origins, settings and whether events arrive."""
    session = get_session()
    sites = session.scalars(select(Site).order_by(Site.name, Site.id)).all()
    last = last_event_times(session)
    listed = [
        _site_json(site) | {"last_event_at": iso_utc(last.get(site.id))}
        for site in sites
    ]
    return page_or_json(
        "dashboard/sites.html",
        {"sites": listed},
        lambda: {"sites": sites, "last": last},
    )


@bp.route("/new", methods=["GET", "POST"])
def site_new() -> Response | tuple[str, int]:
    """The add form; a valid post creates the site and opens its setup page.
    Its twin is the form's defaults and the values each field accepts."""
    if request.method == "GET":
        blank = {"values": _defaults(), **_choices()}
        return page_or_json(NEW_PAGE, blank, lambda: blank | {"errors": {}})
    form = _form_values()
    session = get_session()
    try:
        site = create_site(session, key=form["key"] or None, **_settings(form))
    except SiteInvalid as exc:
        session.rollback()
        page = render_template(NEW_PAGE, values=form, errors=exc.errors, **_choices())
        return page, 400
    session.commit()
    return redirect(url_for("sites.site_settings", site_key=site.key, added=1), 303)


@bp.route("/<site_key>/settings", methods=["GET", "POST"])
def site_settings(site_key: str) -> Response | tuple[str, int]:
    """A site's embed tag, API, installation check and settings form."""
    session = get_session()
    site = _site(site_key)
    if request.method == "GET":
        return page_or_json(
            SETTINGS_PAGE,
            _site_json(site),
            lambda: _settings_context(site, _values_of(site), {}),
        )
    form = _form_values()
    try:
        update_site(session, site, **_settings(form))
    except SiteInvalid as exc:
        session.rollback()
        return render_template(
            SETTINGS_PAGE, **_settings_context(site, form, exc.errors)
        ), 400
    session.commit()
    return redirect(url_for("sites.site_settings", site_key=site.key, saved=1), 303)


@bp.get("/<site_key>/install-check")
def install_check(site_key: str) -> Response:
    """JSON for the live check: whether page views arrive, and the latest ones
    with their time in the site's zone. Polled every few seconds by sites.js."""
    site = get_session().scalar(select(Site).where(Site.key == site_key))
    if site is None:
        return realtime_views.not_found()
    events = latest_events(get_session(), site.id)
    response = jsonify(
        site=site.key,
        timezone=site.timezone,
        receiving=bool(events),
        events=[
            {
                "url": event.url,
                "title": event.title,
                "device": event.device,
                "viewed_at": iso_utc(event.viewed_at),
                "when": local_time(event.viewed_at, site.timezone),
            }
            for event in events
        ],
    )
    response.cache_control.no_store = True
    return response


# --- helpers ------------------------------------------------------------------------


def _site(site_key: str) -> Site:
    site = get_session().scalar(select(Site).where(Site.key == site_key))
    if site is None:
        abort(404)
    return site


def _lines(text: str) -> list[str]:
    """One entry per line or comma: how people paste lists of origins."""
    parts = text.replace(",", "\n").splitlines()
    return [part.strip() for part in parts if part.strip()]


def _form_values() -> dict[str, str]:
    """The posted fields as typed (kept to refill the form after an error)."""
    fields = ("key", "name", "origins", "privacy_mode", "reached_sales_stage")
    values = {name: request.form.get(name, "")[:5000] for name in fields}
    values["timezone"] = request.form.get("timezone", "")[:100]
    values["internal_domains"] = request.form.get("internal_domains", "")[:5000]
    return values


def _settings(form: dict[str, str]) -> dict:
    """Form text → the arguments of create_site/update_site."""
    return {
        "name": form["name"],
        "origins": _lines(form["origins"]),
        "privacy_mode": form["privacy_mode"],
        "reached_sales_stage": form["reached_sales_stage"],
        "timezone": form["timezone"].strip(),
        "internal_domains": _lines(form["internal_domains"]),
    }


def _defaults() -> dict[str, str]:
    return {
        "key": "",
        "name": "",
        "origins": "",
        "privacy_mode": "consented",
        "reached_sales_stage": DEFAULT_REACHED_SALES,
        "timezone": "UTC",
        "internal_domains": "",
    }


def _values_of(site: Site) -> dict[str, str]:
    return {
        "key": site.key,
        "name": site.name,
        "origins": "\n".join(site.allowed_origins or ()),
        "privacy_mode": site.privacy_mode,
        "reached_sales_stage": site.reached_sales_stage,
        "timezone": site.timezone,
        "internal_domains": "\n".join(site.internal_domains or ()),
    }


def _choices() -> dict:
    others = sorted(time_zones() - set(COMMON_ZONES))
    return {
        "privacy_modes": PRIVACY_MODES,
        "privacy_help": PRIVACY_HELP,
        "stages": FUNNEL,
        "zones": [*COMMON_ZONES, *others],
    }


def _settings_context(site: Site, values: dict, errors: dict) -> dict:
    """The settings page's context: the form, and the tag to paste."""
    host = public_host()
    return {
        "values": values,
        "errors": errors,
        **_choices(),
        "site": site,
        "tag": site_embed_tag(host, site.key),
        "host": host,
        "added": request.args.get("added") == "1",
        "saved": request.args.get("saved") == "1",
    }


def embed_tag(site_key: str) -> str:
    """The site's embed tag as served from this dashboard's host (the settings
    page and the empty states show it)."""
    return site_embed_tag(public_host(), site_key)


def public_host() -> str:
    """Where browsers load /r.js from: ``PUBLIC_URL`` when configured (behind a
    proxy that rewrites the host), else the address this page was asked on."""
    configured = current_app.config.get("PUBLIC_URL")
    return normalise_host(configured or request.host_url)


def _site_json(site: Site) -> dict:
    return {
        "key": site.key,
        "name": site.name,
        "allowed_origins": list(site.allowed_origins or ()),
        "privacy_mode": site.privacy_mode,
        "reached_sales_stage": site.reached_sales_stage,
        "timezone": site.timezone,
        "internal_domains": list(site.internal_domains or ()),
        "enabled": site.enabled,
        "created_at": iso_utc(site.created_at),
    }
