"""Content kinds by hand, and segments named for people on every page.

Owns: the content page's "conversion page" / "reading content" form (post, then
303 back to the page; a script's JSON post gets the new kind), and the template
globals that name segments (``segment_label``, ``everyone_else``,
``reached_sales_stage``): the menus, the compare heading and the sales pages
say "reached sales (SQL or later)" with the stage this site chose.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, jsonify, redirect, request, url_for
from sqlalchemy import select

from dashboard.args import ids_in_range, page_args
from dashboard.queries.segments import everyone_else
from dashboard.segment_names import compare_labels, stage_name
from dashboard.segment_names import segment_label as name_segment
from resonance.core.db import get_session
from resonance.core.models import CONTENT_KINDS, Site
from resonance.core.respond import reads_json
from tracker.contents import set_kind_by_hand
from tracker.stages import DEFAULT_REACHED_SALES

bp = Blueprint("kinds", __name__, url_prefix="/dash/sites/<site_key>")
bp.url_value_preprocessor(ids_in_range)


def reached_sales_stage(site_key: str | None = None) -> str:
    """The stage at which a lead of the site counts as "reached sales" (the
    request's site when not named), looked up once per request and site."""
    site_key = site_key or (request.view_args or {}).get("site_key")
    cache = g.setdefault("reached_stages", {})
    if site_key not in cache:
        stage = None
        if site_key:
            stage = get_session().scalar(
                select(Site.reached_sales_stage).where(Site.key == site_key)
            )
        cache[site_key] = stage or DEFAULT_REACHED_SALES
    return cache[site_key]


def segment_label(segment: str, compare_to: str | None = None) -> str:
    """A segment's name for people on this site's pages; with ``compare_to``,
    the name of ``segment`` as the second side of that comparison ("everyone
    else" for ``not:<compare_to>``)."""
    stage = reached_sales_stage()
    if compare_to is not None:
        return compare_labels(compare_to, segment, stage)[1]
    return name_segment(segment, stage)


bp.add_app_template_global(segment_label, "segment_label")
bp.add_app_template_global(everyone_else, "everyone_else")
bp.add_app_template_global(reached_sales_stage, "reached_sales_stage")
bp.add_app_template_global(stage_name, "stage_name")


@bp.post("/content/<int:content_id>/kind")
def set_kind(site_key: str, content_id: int) -> Response:
    """Mark a content item as a conversion page or as reading content, by hand:
    rules and crawls leave it so from then on."""
    data = request.get_json(silent=True) if request.is_json else request.form
    kind = str((data or {}).get("kind") or "")
    if kind not in CONTENT_KINDS:
        abort(400, f"kind must be one of {', '.join(CONTENT_KINDS)}")
    session = get_session()
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if site_id is None or not set_kind_by_hand(session, site_id, content_id, kind):
        session.rollback()
        abort(404)
    session.commit()
    if reads_json():
        return jsonify(content_id=content_id, kind=kind, kind_source="hand")
    target = url_for(
        "dashboard.content_page",
        site_key=site_key,
        content_id=content_id,
        **page_args(drop=("format",)),
    )
    return redirect(target, code=303)
