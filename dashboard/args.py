"""Query-string arguments shared by dashboard pages: parsed once, a 400 if bad."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, request


def wants_json() -> bool:
    """The JSON twin of a page was asked for (``?format=json``)."""
    return request.args.get("format") == "json"


def day_arg(name: str, *, next_day: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` argument as a naive UTC datetime; ``next_day`` makes an
    inclusive ``until`` the following midnight. Anything else is a 400."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        abort(400, f"{name}: {value[:40]!r} is not a date like 2026-01-31")
    return day + timedelta(days=1) if next_day else day
