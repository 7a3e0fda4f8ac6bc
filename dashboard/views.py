"""Dashboard pages: request arguments → queries → figures → template, or JSON.

Every page has a JSON twin (``?format=json``) fed by the same dataclasses, for
tests and scripts. Structured as one blueprint so a login check can wrap it whole.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, render_template, request

from dashboard import queries
from resonance.db import get_session

bp = Blueprint("dashboard", __name__, url_prefix="/dash", template_folder="templates")


def wants_json() -> bool:
    """The JSON twin of a page was asked for."""
    return request.args.get("format") == "json"


@bp.get("/")
def overview() -> Response | str:
    """Sites with their counts, and the latest page views as they arrive."""
    session = get_session()
    summaries = queries.site_summaries(session)
    recent = queries.recent_views(session)
    if wants_json():
        return jsonify(
            sites=[asdict(s) for s in summaries], recent=[asdict(r) for r in recent]
        )
    return render_template("dashboard/overview.html", sites=summaries, recent=recent)
