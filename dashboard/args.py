"""Query-string arguments shared by dashboard pages: parsed once, a 400 if bad.

Whether a page or its JSON twin was asked for is decided in
``resonance.core.respond``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, request

from resonance.core.clock import zone as zone_named


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
