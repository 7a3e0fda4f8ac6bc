"""Query-string and URL arguments shared by dashboard pages: parsed once, and
bad values answered the same way everywhere.

Bad input typed by a person (a date) must not cost them the page: the field is
recorded in :func:`field_errors`, the page is drawn as if the field were empty
with the message beside it (``_filters.html``), and the answer is a 400 like a
form with errors (:func:`bad_input_status`). A script asking for the JSON twin
gets a 400 at once, naming the field. Ids in URLs that no table can hold are a
404 (:func:`ids_in_range`): PostgreSQL would refuse them with an error.

Whether a page or its JSON twin was asked for is decided in
``resonance.core.respond``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Response, abort, g, jsonify, request

from dashboard.periods import PRESETS, Period, preset_days, today_in
from resonance.core.clock import naive_utc
from resonance.core.clock import zone as zone_named
from resonance.core.respond import reads_json

# Every id column is an INTEGER: 32 bits signed on PostgreSQL.
MAX_ID = 2**31 - 1
# How the filter forms label the date fields (the error summary names them so).
FIELD_LABELS = {
    "since": "From",
    "until": "To",
    "period": "Period",
    "source": "Source",
    "campaign": "Campaign",
    "referrer": "Referrer",
    "vs": "Compare",
}
DATE_HINT = "is not a date like 2026-01-31"


def valid_id(value: int) -> bool:
    """Whether ``value`` can be the id of a row (1 to :data:`MAX_ID`)."""
    return 0 < value <= MAX_ID


def id_arg(text: str) -> int | None:
    """A form's id field as an int; None when it is not one a row can have."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if valid_id(value) else None


def ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """``url_value_preprocessor``: every ``…_id`` in the URL that no row can
    have is a 404 before the view asks the database."""
    for name, value in (values or {}).items():
        if name.endswith("_id") and isinstance(value, int) and not valid_id(value):
            abort(404)


def field_errors() -> dict[str, str]:
    """This request's bad fields: query-string name → what is wrong with it."""
    if "field_errors" not in g:
        g.field_errors = {}
    return g.field_errors


def bad_field(name: str, message: str) -> None:
    """Record that the field ``name`` is bad; a script gets its 400 now, as
    ``{"error": "name: message", "field": name}``."""
    if reads_json():
        response = jsonify(error=f"{name}: {message}", field=name)
        response.status_code = 400
        abort(response)
    field_errors()[name] = message


def bad_input_status(response: Response) -> Response:
    """``after_request``: a page drawn despite a bad field answers 400, so a
    link checker or a monitor sees what the person sees beside the field."""
    if response.status_code == 200 and g.get("field_errors"):
        response.status_code = 400
    return response


def _day(name: str) -> date | None:
    """The ``YYYY-MM-DD`` argument ``name``; None when absent or bad (then
    recorded as a bad field)."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        bad_field(name, f"{value[:40]!r} {DATE_HINT}")
        return None


def midnight(day: date, zone: str | None) -> datetime:
    """Midnight of ``day`` in the site's zone, as naive UTC (the columns')."""
    local = datetime(day.year, day.month, day.day, tzinfo=zone_named(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def day_range(zone: str | None = None) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` (inclusive days in the site's time zone ``zone``,
    UTC when None) as naive UTC bounds: from midnight of ``since`` to the
    midnight after ``until``, so "from the 3rd" means the 3rd where the site's
    people are. A bad day counts as absent; a range that ends before it starts
    is reported on ``until`` and both are dropped (it could match nothing).

    Without either date, ``period=7d|30d|90d|all`` picks the last days ending
    today in the site's zone (rolling: a bookmark keeps meaning "the last 30
    days"); explicit dates win over it. The days chosen are kept for
    :func:`current_period`, which states them on the page."""
    period = _period(zone)
    g.period = period
    return (
        midnight(period.since, zone) if period.since else None,
        midnight(period.until + timedelta(days=1), zone) if period.until else None,
    )


def _period(zone: str | None) -> Period:
    """The days the query string asks for (see :func:`day_range`)."""
    name = zone or "UTC"
    preset = request.args.get("period") or ""
    if preset and preset not in PRESETS:
        bad_field("period", f"{preset[:40]!r} is not one of {', '.join(PRESETS)}")
        preset = ""
    since, until = _day("since"), _day("until")
    if since and until and since > until:
        bad_field(
            "until",
            f"{until.isoformat()} is before From ({since.isoformat()}): "
            "swap the two dates. Every date is shown meanwhile.",
        )
        return Period(None, None, name)
    if since or until or not preset:
        return Period(since, until, name)
    return Period(*preset_days(preset, today(zone)), name)


def today(zone: str | None) -> date:
    """Today in the site's zone."""
    return today_in(zone, naive_utc())


def current_period(zone: str | None = None) -> Period:
    """The period this request's :func:`day_range` chose (parsed now if it has
    not run): what the page states beside its filters."""
    if "period" not in g:
        day_range(zone)
    return g.period


def page_args(drop: tuple[str, ...]) -> dict[str, str]:
    """The query string to carry over to a linked page, minus ``drop`` and the
    fields found bad (the linked page would only repeat their error)."""
    bad = field_errors()
    return {
        k: v for k, v in request.args.items() if k not in drop and k not in bad and v
    }


# A host name as the referrer filter takes it (lower case, IDNA already applied).
LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
HOST = re.compile(rf"{LABEL}(\.{LABEL})*\Z")
MAX_TAG = 100


def acquisition_args() -> dict[str, str | None]:
    """``source``, ``campaign`` (utm tags, at most :data:`MAX_TAG` characters)
    and ``referrer`` (a host name, or ``direct`` for none): a bad one is
    reported beside its field and counts as absent."""
    found: dict[str, str | None] = {}
    for name in ("source", "campaign", "referrer"):
        value = (request.args.get(name) or "").strip()
        if name == "referrer":
            value = value.lower()
        if len(value) > MAX_TAG:
            bad_field(name, f"is longer than {MAX_TAG} characters")
            value = ""
        elif name == "referrer" and value and not HOST.match(value):
            bad_field(name, f"{value[:40]!r} is not a host name like example.com")
            value = ""
        found[name] = value or None
    return found


def compare_previous() -> bool:
    """``vs=previous``: show each figure beside the period before it."""
    value = request.args.get("vs") or ""
    if value not in ("", "previous"):
        bad_field("vs", f"{value[:40]!r} is not previous")
    return value == "previous"
