"""Sales and influence pages: prospects, their reading history, content influence.

Owns: request → :mod:`dashboard.queries` → :mod:`dashboard.figures` →
template, or the same dataclasses as JSON (``?format=json``); the prospect's CSV
export; the note form (post, then redirect). A note's author is the user who is
logged in, never a form field (a colleague's name cannot be borrowed).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import urlsplit

import plotly
from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    request,
    url_for,
)

from dashboard import figures
from dashboard.args import (
    bad_input_status,
    day_range,
    field_errors,
    id_arg,
    ids_in_range,
)
from dashboard.queries.influence import SORTS, InfluenceReport, content_influence
from dashboard.queries.prospect_reading import reading_history
from dashboard.queries.prospect_report import ProspectReport, prospect_report
from dashboard.queries.prospects import Prospect, prospect, search_prospects
from dashboard.queries.sites import site_id, site_timezone
from resonance.auth.session import current_user
from resonance.core.db import get_session
from resonance.core.models import CONVERSION
from resonance.core.respond import fields_of, page_or_json, reads_json
from tracker.notes import NoteInvalid, NoteTargetMissing, add_note

bp = Blueprint(
    "sales", __name__, url_prefix="/dash/sites/<site_key>", template_folder="templates"
)
bp.url_value_preprocessor(ids_in_range)
bp.after_request(bad_input_status)

# Spreadsheets run a cell starting with one of these as a formula (OWASP's list:
# = + - @, and tab and carriage return, which some of them skip first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROSPECT_PAGE = "dashboard/prospect.html"


def _site(site_key: str) -> int:
    """The id of the site in the URL; 404 when there is none."""
    site = site_id(get_session(), site_key)
    if site is None:
        abort(404)
    return site


@bp.context_processor
def _template_globals() -> dict:
    return {"plotly_version": plotly.__version__}


def _conversion() -> bool:
    """``?conversion=1``: show conversion pages (contact, demo request,
    thank-you), which influence and suggestions leave out by default."""
    return request.args.get("conversion") == "1"


def _zone(site_key: str) -> str:
    """The zone the site's pages show times in and read days in (named on the
    page). Asked by each view, not a context processor: an error page rendered
    for a hostile URL must not query with it."""
    return site_timezone(get_session(), site_key) or "UTC"


# --- prospect search ---------------------------------------------------------------


@bp.get("/prospects")
def prospects(site_key: str) -> Response:
    """Leads by e-mail, name or company (``q``), most recently active first."""
    site = _site(site_key)
    query = (request.args.get("q") or "").strip()[:200]
    rows = search_prospects(get_session(), site, query)
    return page_or_json(
        "dashboard/prospects.html",
        {"site": site_key, "q": query, "prospects": rows},
        lambda: {
            "site_key": site_key,
            "q": query,
            "rows": rows,
            "zone": _zone(site_key),
        },
    )


# --- one prospect ------------------------------------------------------------------


def _prospect(site_key: str, lead_id: int) -> tuple[int, Prospect]:
    """The site's lead, or a 404 (another site's lead is not found either)."""
    site = _site(site_key)
    lead = prospect(get_session(), site, lead_id)
    if lead is None:
        abort(404)
    return site, lead


def _merged_redirect(site_key: str, lead: Prospect, endpoint: str):
    """A merged lead's pages live at the survivor's address."""
    args = request.args.to_dict()
    return redirect(
        url_for(endpoint, site_key=site_key, lead_id=lead.merged_into_id, **args)
    )


@bp.get("/prospects/<int:lead_id>")
def prospect_page(site_key: str, lead_id: int) -> Response:
    """What the prospect read, visit by visit; what they already know; what to
    send next; notes about each content item."""
    site, lead = _prospect(site_key, lead_id)
    if lead.merged_into_id is not None:
        return _merged_redirect(site_key, lead, "sales.prospect_page")
    report = prospect_report(get_session(), site, lead, _conversion())
    return page_or_json(
        PROSPECT_PAGE,
        {"site": site_key, **fields_of(report)},
        lambda: _prospect_page(site_key, lead, report),
    )


def _prospect_page(
    site_key: str,
    lead: Prospect,
    report: ProspectReport,
    note_errors: dict[int, dict[str, str]] | None = None,
    note_values: dict[int, dict[str, str]] | None = None,
) -> dict:
    """The prospect page's context; after a bad note, that note's errors and
    what was typed, by content item."""
    return {
        "site_key": site_key,
        "report": report,
        "lead": lead,
        "note_errors": note_errors or {},
        "note_values": note_values or {},
        "zone": _zone(site_key),
    }


CSV_COLUMNS = (
    "session_id",
    "session_started_at",
    "viewed_at",
    "title",
    "url",
    "active_s",
    "scroll_pct",
    "expected_s",
    "verdict",
    "top_sections",
    "link_clicks",
)


def csv_cell(value) -> str | int | float:
    """A value safe to open in a spreadsheet: text that would start a formula
    gets a leading single quote; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@bp.get("/prospects/<int:lead_id>.csv")
def prospect_csv(site_key: str, lead_id: int) -> Response:
    """The prospect's reading history, one page view per row."""
    site, lead = _prospect(site_key, lead_id)
    if lead.merged_into_id is not None:
        return _merged_redirect(site_key, lead, "sales.prospect_csv")
    visits = reading_history(get_session(), site, lead.lead_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for visit in visits:
        for r in visit.readings:
            sections = "; ".join(
                f"{s.heading} ({s.active_s} s)" for s in r.top_sections
            )
            clicks = "; ".join(
                f"{c.text or c.tag} → {c.href or ''}".strip() for c in r.clicks
            )
            row = (
                visit.session_id,
                visit.started_at,
                r.viewed_at,
                r.title,
                r.url,
                r.active_s,
                r.scroll_pct,
                r.expected_s,
                r.verdict,
                sections,
                clicks,
            )
            writer.writerow([csv_cell(v) for v in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="prospect-{lead.lead_id}.csv"'
    )
    return response


# --- notes ---------------------------------------------------------------------------


def _note_fields() -> dict[str, str]:
    """The note's fields from a form or a JSON body, as strings."""
    if request.is_json:
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
    else:
        data = request.form
    return {key: str(data.get(key) or "") for key in ("content_id", "body", "section")}


def _same_origin() -> bool:
    """A browser's cross-site POST carries another Origin: refuse it (a minimal
    CSRF guard until logins and tokens arrive)."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    ours = urlsplit(request.host_url)
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


@bp.post("/prospects/<int:lead_id>/notes")
def add_prospect_note(site_key: str, lead_id: int) -> Response:
    """Leave a note on a content item about the prospect; then back to the page
    (post/redirect/get). Bad fields: the page again, 400, errors by the field."""
    if not _same_origin():
        abort(403, "cross-site form posts are refused")
    site, lead = _prospect(site_key, lead_id)
    if lead.merged_into_id is not None:
        abort(404)  # the form of a merged lead is gone: the survivor has it
    fields = _note_fields()
    content_id = id_arg(fields["content_id"])
    if content_id is None:
        abort(400, "content_id must be a content item's id")
    session = get_session()
    try:
        note = add_note(
            session,
            site,
            content_id,
            lead.lead_id,
            author=current_user().username,
            body=fields["body"],
            section=fields["section"],
            now=datetime.now(UTC),
        )
    except NoteTargetMissing:
        session.rollback()
        abort(404)
    except NoteInvalid as exc:
        session.rollback()
        errors = exc.errors  # the name `exc` ends with the except block
        return page_or_json(
            PROSPECT_PAGE,
            {"errors": errors},
            lambda: _prospect_page(
                site_key,
                lead,
                prospect_report(session, site, lead, _conversion()),
                note_errors={content_id: errors},
                note_values={content_id: fields},
            ),
            status=400,
        )
    session.commit()
    if reads_json():  # a script's note: no page to go back to
        created = jsonify(note_id=note.id, content_id=content_id)
        created.status_code = 201
        return created
    target = url_for("sales.prospect_page", site_key=site_key, lead_id=lead.lead_id)
    return redirect(f"{target}#notes-{content_id}", code=303)


# --- content influence ---------------------------------------------------------------


@bp.get("/influence")
def influence(site_key: str) -> Response:
    """Per content item: readers among identified leads, conversion to sales vs
    the site's baseline, days to sales, and attribution; sortable. Conversion
    pages are left out unless ``conversion=1``."""
    site = _site(site_key)
    sort = request.args.get("sort") or "influence"
    if sort not in SORTS:
        abort(400, f"sort must be one of {', '.join(SORTS)}")
    zone = _zone(site_key)
    since, until = day_range(zone)
    report = content_influence(
        get_session(), site, since, until, sort, conversion=_conversion()
    )
    return page_or_json(
        "dashboard/influence.html",
        {"site": site_key, **fields_of(report)},
        lambda: _influence_page(site_key, report, zone),
    )


def _influence_page(site_key: str, report: InfluenceReport, zone: str) -> dict:
    """The influence page's context: the attribution chart of the rows read
    before sales, and the filters to carry over."""
    ranked = sorted(report.rows, key=SORTS["influence"])
    figure = figures.influence_figure(
        [
            figures.AttributionBar(
                r.title + (" (conversion page)" if r.kind == CONVERSION else ""),
                r.url,
                r.first_touch,
                r.last_touch,
                r.linear,
            )
            for r in ranked
            if r.readers_before_sales
        ]
    )
    return {
        "site_key": site_key,
        "report": report,
        "figure": figures.figure_json(figure),
        "args": {
            k: v
            for k, v in request.args.items()
            if k in ("since", "until", "conversion") and k not in field_errors() and v
        },
        "sorts": SORTS,
        "zone": zone,
    }
