"""Time as Resonance stores it and as a site's people read it.

Every ``*_at`` column holds naive UTC (:func:`naive_utc` makes one, from any
datetime or from now); pages show it in the site's IANA time zone with the zone
named, so nobody mistakes it for their own. Pure functions, no database and no
Flask (the dashboard registers the display ones as Jinja filters).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_FORMAT = "%Y-%m-%d %H:%M:%S"


def naive_utc(moment: datetime | None = None) -> datetime:
    """``moment`` (now when None) as the database keeps times: naive UTC. A naive
    ``moment`` is taken to be UTC already."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def zone(name: str | None) -> tzinfo:
    """The zone called ``name``; UTC for an empty or unknown name (a stored zone
    the system no longer knows must not break a page). The fallback is
    ``datetime.UTC``, which needs no zone data: with neither the system's
    zoneinfo nor the tzdata package even ``ZoneInfo("UTC")`` raises."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a normalised relative key, or not a TZif file;
        # OSError: a directory such as "Europe", or a name too long for a file.
        return UTC


def in_zone(moment: datetime, name: str | None) -> datetime:
    """A naive UTC ``moment`` as an aware datetime in the zone ``name``."""
    return moment.replace(tzinfo=UTC).astimezone(zone(name))


def local_time(
    moment: datetime | None, name: str | None, fmt: str = DEFAULT_FORMAT
) -> str:
    """``2026-11-23 14:05:09 CET``: the moment in the site's zone with the zone's
    abbreviation (or offset, where the zone has none); "" for None."""
    if moment is None:
        return ""
    local = in_zone(moment, name)
    return f"{local.strftime(fmt)} {local.tzname()}"


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 with an explicit ``Z``, for JSON (scripts read it unambiguously)."""
    return (
        moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        if moment
        else None
    )
