"""Alerts: the page of what fired and how it was delivered, the rules, the
webhook, and high-intent pages by hand.

Owns: ``/dash/sites/<key>/alerts`` (newest first; "mine" by default for sales
users: alerts whose owner is their e-mail or username), the rules page (enable,
stage and days away; the webhook URL and its secret, shown once when made), and
the content page's "high-intent page" form. Rules are evaluated by
``tracker.alerts`` when events are stored; this module only reads and edits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, jsonify, redirect, request, url_for
from sqlalchemy import select

from dashboard.args import ids_in_range, page_args
from dashboard.queries.alerts import owner_names, site_alerts
from resonance.auth.session import current_user
from resonance.core.clock import naive_utc
from resonance.core.db import get_session, on_primary
from resonance.core.models import AlertRule, Content, Site
from resonance.core.respond import page_or_json, reads_json
from resonance.core.sizes import URL_LEN
from tracker.alerts import ensure_rules
from tracker.contents import set_high_intent_by_hand
from tracker.stages import FUNNEL
from tracker.webhooks import new_secret

bp = Blueprint("alerts", __name__, url_prefix="/dash/sites/<site_key>")
bp.url_value_preprocessor(ids_in_range)

RULE_LABELS = {
    "returning": "A known lead comes back after days away",
    "high_intent": "A lead reads a high-intent page",
    "second_person": "A second person from the same account appears",
}
MAX_DAYS = 365


def _site(site_key: str) -> Site:
    site = get_session().scalar(select(Site).where(Site.key == site_key))
    if site is None:
        abort(404)
    return site


def _now() -> datetime:
    return naive_utc(datetime.now(UTC))


@bp.get("/alerts")
def alert_list(site_key: str) -> Response:
    """The site's alerts, newest first, with each delivery's state; ``?mine=1``
    (the default for sales users) keeps the signed-in user's."""
    session = get_session()
    site = _site(site_key)
    user = current_user()
    default = "1" if user is not None and user.role == "sales" else "0"
    mine = request.args.get("mine", default) == "1"
    owners = owner_names(session, user.id) if mine and user is not None else None
    rows = site_alerts(session, site.id, owners)
    twin = {"site": site.key, "mine": mine, "alerts": rows}
    return page_or_json(
        "dashboard/alerts.html",
        twin,
        lambda: {"site": site, "site_key": site.key, "rows": rows, "mine": mine},
    )


def _rules_twin(site: Site, rules: list[AlertRule]) -> dict:
    return {
        "site": site.key,
        "rules": [
            {
                "id": r.id,
                "kind": r.kind,
                "enabled": r.enabled,
                "stage": r.stage,
                "days_away": r.days_away,
            }
            for r in rules
        ],
        "webhook_url": site.webhook_url,
        "webhook_secret_set": bool(site.webhook_secret),
    }


@bp.route("/alerts/rules", methods=["GET", "POST"])
@on_primary  # its GET makes the defaults, under a row lock: a replica refuses both
def alert_rules(site_key: str) -> Response:
    """The site's alert rules and webhook (made with the defaults on first use)."""
    session = get_session()
    site = _site(site_key)
    rules = ensure_rules(session, site.id, _now())
    session.commit()
    errors: dict[str, str] = {}
    secret = None
    if request.method == "POST":
        action = request.form.get("action", "rules")
        if action == "rules":
            errors = _save_rules(rules)
        elif action == "webhook":
            errors, secret = _save_webhook(site)
        elif action == "secret":
            site.webhook_secret = secret = new_secret()
        if errors:
            session.rollback()
        else:
            session.commit()
            if secret is None and not reads_json():
                return redirect(
                    url_for("alerts.alert_rules", site_key=site.key, saved=1), 303
                )
    twin = _rules_twin(site, rules)
    if secret:
        twin["webhook_secret"] = secret  # shown this once
    context = {
        "site": site,
        "site_key": site.key,
        "rules": rules,
        "labels": RULE_LABELS,
        "stages": FUNNEL,
        "errors": errors,
        "secret": secret,
        "saved": request.args.get("saved"),
    }
    return page_or_json(
        "dashboard/alert_rules.html",
        twin,
        lambda: context,
        status=400 if errors else 200,
    )


def _save_rules(rules: list[AlertRule]) -> dict[str, str]:
    """Apply the rules form; errors by field name (nothing applied then)."""
    form, errors = request.form, {}
    for rule in rules:
        rule.enabled = form.get(f"enabled_{rule.id}") == "on"
        if rule.kind != "returning":
            continue
        stage = form.get(f"stage_{rule.id}", rule.stage or "")
        if stage not in FUNNEL:
            errors[f"stage_{rule.id}"] = f"choose one of {', '.join(FUNNEL)}"
        raw = form.get(f"days_{rule.id}", str(rule.days_away or ""))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            errors[f"days_{rule.id}"] = f"a whole number of days, 1 to {MAX_DAYS}"
        if not errors:
            rule.stage, rule.days_away = stage, int(raw)
    return errors


def _save_webhook(site: Site) -> tuple[dict[str, str], str | None]:
    """Set or clear the webhook URL; a secret is made with the first URL."""
    url = request.form.get("webhook_url", "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        return {"webhook_url": "an http:// or https:// address"}, None
    if len(url) > URL_LEN:
        return {"webhook_url": f"at most {URL_LEN} characters"}, None
    site.webhook_url = url or None
    secret = None
    if url and not site.webhook_secret:
        site.webhook_secret = secret = new_secret()
    return {}, secret


def high_intent_of(content_id: int) -> dict:
    """Whether a content item is a high-intent page, and who decided."""
    row = (
        get_session()
        .execute(
            select(Content.high_intent, Content.high_intent_source).where(
                Content.id == content_id
            )
        )
        .first()
    )
    return {"high_intent": bool(row and row[0]), "source": row[1] if row else "auto"}


bp.add_app_template_global(high_intent_of, "high_intent_of")


@bp.post("/content/<int:content_id>/high-intent")
def set_high_intent(site_key: str, content_id: int) -> Response:
    """Mark a content item as a high-intent page (or not) by hand: its readers'
    owners are alerted; URL rules leave it so from then on."""
    data = request.get_json(silent=True) if request.is_json else request.form
    value = str((data or {}).get("high_intent", "")).lower()
    if value not in ("1", "0", "true", "false"):
        abort(400, "high_intent must be 1 or 0")
    high = value in ("1", "true")
    session = get_session()
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if site_id is None or not set_high_intent_by_hand(
        session, site_id, content_id, high
    ):
        session.rollback()
        abort(404)
    session.commit()
    if reads_json():
        return jsonify(content_id=content_id, high_intent=high, source="hand")
    target = url_for(
        "dashboard.content_page",
        site_key=site_key,
        content_id=content_id,
        **page_args(drop=("format",)),
    )
    return redirect(target, code=303)
