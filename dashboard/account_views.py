"""Account pages for sales: the site's companies, and one company's people, the
content read across it and what to send it next.

Owns: request → :mod:`dashboard.queries.accounts` → template, or the same
dataclasses as JSON (``?format=json``), and the two CSV exports. Who may open
them is ``resonance.auth.access`` (as for prospects); a site's account is found
only through that site, so another site's id is a 404.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, request

from dashboard.args import (
    bad_input_status,
    current_period,
    day_range,
    ids_in_range,
    midnight,
    today,
)
from dashboard.periods import PRESET_LABELS, period_label
from dashboard.queries.accounts import (
    AccountReport,
    account_list,
    account_reading,
    account_report,
)
from dashboard.queries.sites import site_id, site_timezone
from dashboard.sales_views import csv_cell
from resonance.core.db import get_session
from resonance.core.respond import fields_of, page_or_json

bp = Blueprint(
    "accounts",
    __name__,
    url_prefix="/dash/sites/<site_key>",
    template_folder="templates",
)
bp.url_value_preprocessor(ids_in_range)
bp.after_request(bad_input_status)

# The account page's period when none is asked for: what sales asks about.
DEFAULT_DAYS = 7
PERIOD_ARGS = ("since", "until", "period")


def _site(site_key: str) -> tuple[int, str]:
    """The id and time zone of the site in the URL; 404 when there is none."""
    session = get_session()
    site = site_id(session, site_key)
    if site is None:
        abort(404)
    return site, site_timezone(session, site_key) or "UTC"


def _period(zone: str) -> tuple[datetime | None, datetime | None, str]:
    """The period the account page counts content in, and its name: the days
    asked for, else the last seven days ending today in the site's zone."""
    if any(request.args.get(name) for name in PERIOD_ARGS):
        since, until = day_range(zone)
        return since, until, period_label(current_period(zone))
    start = today(zone) - timedelta(days=DEFAULT_DAYS - 1)
    return midnight(start, zone), None, f"the last {DEFAULT_DAYS} days"


def _csv(columns: tuple[str, ...], rows, filename: str) -> Response:
    """A CSV download, every cell made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stages_text(stages) -> str:
    return "; ".join(f"{s.stage} {s.people}" for s in stages)


# --- the list -------------------------------------------------------------------


@bp.get("/accounts")
def accounts(site_key: str) -> Response:
    """The site's accounts, most recently engaged first."""
    site, zone = _site(site_key)
    rows = account_list(get_session(), site)
    return page_or_json(
        "dashboard/accounts.html",
        {"site": site_key, "rows": rows},
        lambda: {"site_key": site_key, "rows": rows, "zone": zone},
    )


LIST_COLUMNS = (
    "account_id",
    "name",
    "domain",
    "key",
    "people",
    "page_views",
    "pages_read",
    "stages",
    "last_seen_at",
)


@bp.get("/accounts.csv")
def accounts_csv(site_key: str) -> Response:
    """The account list, one account per row."""
    site, _ = _site(site_key)
    rows = (
        (
            r.account_id,
            r.name,
            r.domain,
            r.key,
            r.people,
            r.pageviews,
            r.pages_read,
            _stages_text(r.stages),
            r.last_seen_at,
        )
        for r in account_list(get_session(), site)
    )
    return _csv(LIST_COLUMNS, rows, f"accounts-{site_key}.csv")


# --- one account ----------------------------------------------------------------


def _report(site_key: str, account_id: int) -> tuple[AccountReport, str, str]:
    site, zone = _site(site_key)
    since, until, label = _period(zone)
    conversion = request.args.get("conversion") == "1"
    report = account_report(get_session(), site, account_id, since, until, conversion)
    if report is None:
        abort(404)
    return report, zone, label


@bp.get("/accounts/<int:account_id>")
def account_page(site_key: str, account_id: int) -> Response:
    """Each person of the account with their history in short, the content read
    across the account in the period, and the suggested next reads."""
    report, zone, label = _report(site_key, account_id)
    return page_or_json(
        "dashboard/account.html",
        {"site": site_key, "period": label, **fields_of(report)},
        lambda: {
            "site_key": site_key,
            "report": report,
            "zone": zone,
            "period_label": label,
            "presets": PRESET_LABELS,
            "args": {k: v for k, v in request.args.items() if k in PERIOD_ARGS},
        },
    )


ACCOUNT_COLUMNS = (
    "lead_id",
    "email",
    "name",
    "title",
    "url",
    "views",
    "read",
    "active_s",
    "last_viewed_at",
)


@bp.get("/accounts/<int:account_id>.csv")
def account_csv(site_key: str, account_id: int) -> Response:
    """The account's reading in the period: one row per person and item."""
    site, zone = _site(site_key)
    session = get_session()
    if not account_list(session, site, account_id=account_id):
        abort(404)
    since, until, _ = _period(zone)
    rows = (
        (
            r.lead_id,
            r.email,
            r.name,
            r.title,
            r.url,
            r.views,
            "yes" if r.read else "no",
            r.active_s,
            r.last_viewed_at,
        )
        for r in account_reading(session, site, account_id, since, until)
    )
    return _csv(ACCOUNT_COLUMNS, rows, f"account-{account_id}.csv")
