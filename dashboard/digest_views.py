"""The weekly digest in the dashboard: its preview, the user's own subscription
switch, and the unsubscribe link every digest carries.

- ``GET /dash/digest/preview``: the signed-in user's digest for this week (or
  ``?date=`` a run date), the e-mail's own HTML shown in the page; admins may
  pass ``?user=<id>``. Its JSON twin holds the data.
- ``POST /dash/digest/subscription``: the user turns their digest on or off.
- ``GET/POST /digest/unsubscribe/<key>``: no login, the key (a signed token,
  ``dashboard.digests``) is the credential. GET shows a confirm button, POST sets
  ``digest_opt_out``. The POST is exempt from CSRF: a forged request can only
  unsubscribe the user the token names, and the token is as secret as the
  e-mail it came in; mail clients' one-click unsubscribe (RFC 8058) posts it
  without any cookie or form token.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from dashboard.digests import render, user_of_token
from dashboard.queries.digest import (
    MIN_FALL,
    MIN_VIEWS,
    Digest,
    build_digest,
    content_part,
    prospect_part,
)
from resonance.auth.session import current_user
from resonance.core.clock import iso_utc, naive_utc
from resonance.core.db import get_session
from resonance.core.mail import MailSettings
from resonance.core.models import User
from resonance.core.respond import page_or_json

bp = Blueprint("digest", __name__, url_prefix="/dash/digest")
public = Blueprint("digest_public", __name__, url_prefix="/digest")


def init_app(app: Flask) -> None:
    """Register both blueprints; call after ``auth.init_app`` (the unsubscribe
    POST is exempted from the CSRF check it installs)."""
    app.register_blueprint(bp)
    app.register_blueprint(public)
    app.extensions["csrf"].exempt(unsubscribe)


def _run_day() -> date:
    """``?date=YYYY-MM-DD`` (the run's date), else today in UTC; 400 if bad."""
    text = request.args.get("date")
    if not text:
        return naive_utc().date()
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        abort(400, description="date must be YYYY-MM-DD")


def _subject() -> User:
    """The user whose digest is shown: oneself, or for an admin ``?user=<id>``."""
    me = current_user()
    wanted = request.args.get("user", type=int)
    if wanted is None or wanted == me.id:
        return get_session().get(User, me.id)
    if me.role != "admin":
        abort(403, description="only admins preview other users' digests")
    user = get_session().get(User, wanted) if 0 < wanted < 2**31 else None
    if user is None:
        abort(404)
    return user


def digest_twin(digest: Digest) -> dict:
    """The digest as JSON: dates ISO, moments UTC with a ``Z``."""
    data = asdict(digest)
    data["run_day"] = digest.run_day.isoformat()
    for site, raw in zip(data["sites"], digest.sites, strict=True):
        week = raw.week
        site["week"] = {
            "first": week.first.isoformat(),
            "last": week.last.isoformat(),
            "zone": week.zone,
            "since": iso_utc(week.since),
            "until": iso_utc(week.until),
        }
        for p in site["prospects"]:
            p["last_seen_at"] = iso_utc(p["last_seen_at"])
    return data


def _body(html: str) -> str:
    """What is between ``<body>`` and ``</body>`` of the e-mail's HTML."""
    return html.partition("<body>")[2].rpartition("</body>")[0]


@bp.get("/preview")
def preview() -> Response:
    """This week's digest of the user (the e-mail's HTML), or its data."""
    user = _subject()
    digest = build_digest(get_session(), user, _run_day())
    twin = {
        "user": {"id": user.id, "username": user.username, "email": user.email},
        "subscribed": not user.digest_opt_out,
        "would_send": bool(user.email) and not user.digest_opt_out and not digest.empty,
        "rules": {"min_views_each_week": MIN_VIEWS, "min_fall_pct": MIN_FALL * 100},
        "digest": digest_twin(digest),
    }

    def page() -> dict:
        settings = MailSettings.from_config(current_app.config)
        rendered = render(digest, settings, current_app.config["SECRET_KEY"])
        return {
            "person": user,
            "own": user.id == current_user().id,
            "digest": digest,
            "subject": rendered.subject,
            "email_body": _body(rendered.html),
            "content_part": content_part(user.role),
            "prospect_part": prospect_part(user.role),
        }

    return page_or_json("dashboard/digest_preview.html", twin, page)


@bp.post("/subscription")
def subscription() -> Response:
    """Turn one's own weekly digest on (``receive=1``) or off."""
    session = get_session()
    user = session.get(User, current_user().id)
    user.digest_opt_out = request.form.get("receive") != "1"
    session.commit()
    return redirect(url_for("digest.preview"), 303)


@public.route("/unsubscribe/<key>", methods=["GET", "POST"])
def unsubscribe(key: str) -> tuple[str, int]:
    """Confirm (GET) and unsubscribe (POST) the user the signed token names."""
    user_id = user_of_token(current_app.config["SECRET_KEY"], key)
    session = get_session()
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        page = render_template("dashboard/digest_unsubscribe.html", state="invalid")
        return page, 400
    if request.method == "POST":
        user.digest_opt_out = True
        session.commit()
        return render_template(
            "dashboard/digest_unsubscribe.html", state="done", person=user
        ), 200
    return render_template(
        "dashboard/digest_unsubscribe.html", state="confirm", person=user, token=key
    ), 200
