"""Query-string arguments shared by dashboard pages: parsed once, a 400 if bad."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, request

from dashboard.localtime import zone as zone_named


def wants_json() -> bool:
    """The JSON twin of a page was asked for (``?format=json``)."""
    return request.args.get("format") == "json"


def reads_json() -> bool:
    """A script, not a person: the JSON twin, a JSON body, or JSON preferred."""
    if wants_json() or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def machine_request() -> bool:
    """The collector, the CRM API, the health check or a script: errors there
    are answered in JSON, never as a page."""
    path = request.path
    return path in ("/e", "/healthz") or path.startswith("/api/") or reads_json()


def day_arg(
    name: str, *, next_day: bool = False, zone: str | None = None
) -> datetime | None:
    """A ``YYYY-MM-DD`` argument as a naive UTC datetime: midnight of that day in
    the site's time zone ``zone`` (UTC when None), so "from the 3rd" means the
    3rd where the site's people are. ``next_day`` makes an inclusive ``until``
    the following midnight. Anything else is a 400."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        abort(400, f"{name}: {value[:40]!r} is not a date like 2026-01-31")
    if next_day:
        day += timedelta(days=1)
    local = day.replace(tzinfo=zone_named(zone))
    return local.astimezone(UTC).replace(tzinfo=None)
