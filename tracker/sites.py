"""Sites: create, edit, the embed tag, and the collector's cached look-up by key.

Owns: the ``sites`` table's writes with their checks (shared by the sites page,
the CLI and the demo), the tag a site's pages carry, and the hot-path read
``lookup`` (every beacon needs its site; a short in-process cache saves that
round trip).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.core.models import PRIVACY_MODES, Site
from tracker.crm import FUNNEL, recompute_stages
from tracker.inject import STUB, check_key, snippet_tag
from tracker.urls import BadUrl, ascii_host, site_origin

CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class SiteInfo:
    """What the collector needs of a site, detached from any session."""

    id: int
    key: str
    privacy_mode: str
    allowed_origins: frozenset[str]
    enabled: bool

    def allows_origin(self, request_origin: str | None) -> bool:
        """No Origin (not a browser) or a listed one; ``*`` lists every origin."""
        if request_origin is None:
            return True
        return "*" in self.allowed_origins or request_origin in self.allowed_origins

    @property
    def stores_visitor_id(self) -> bool:
        """Whether the first-party visitor id of the snippet may be used."""
        return self.privacy_mode in ("always", "consented")


_cache: dict[str, tuple[float, SiteInfo | None]] = {}
_lock = threading.Lock()


def lookup(session: Session, key: str) -> SiteInfo | None:
    """The site with ``key``, from a cache at most ``CACHE_SECONDS`` old."""
    now = time.monotonic()
    hit = _cache.get(key)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    site = session.scalar(select(Site).where(Site.key == key))
    info = _info(site) if site else None
    with _lock:
        if len(_cache) > 10_000:  # unknown keys must not grow it without bound
            _cache.clear()
        _cache[key] = (now, info)
    return info


def forget() -> None:
    """Drop the cache (after an edit in this process)."""
    with _lock:
        _cache.clear()


def _info(site: Site) -> SiteInfo:
    return SiteInfo(
        id=site.id,
        key=site.key,
        privacy_mode=site.privacy_mode,
        allowed_origins=frozenset(site.allowed_origins or ()),
        enabled=site.enabled,
    )


def normalise_origins(origins: list[str]) -> list[str]:
    """``scheme://host[:port]`` of each entry (``*`` kept); ValueError if bad."""
    result = []
    for entry in origins:
        entry = entry.strip()
        if entry == "*":
            result.append(entry)
        elif entry:
            result.append(site_origin(entry))
    return result


# --- editing settings ----------------------------------------------------------------

NAME_LEN = 200
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


class SiteInvalid(ValueError):
    """Some settings are wrong; ``errors`` maps each field to what is wrong with it,
    so a form can show every message next to its field at once."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))
        self.errors = errors


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows (read once: it scans files)."""
    return frozenset(zoneinfo.available_timezones())


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("a site needs a name")
    if len(value.strip()) > NAME_LEN:
        raise ValueError(f"at most {NAME_LEN} characters")
    return value.strip()


def _privacy(value: str) -> str:
    if value not in PRIVACY_MODES:
        raise ValueError(f"must be one of {', '.join(PRIVACY_MODES)}")
    return value


def _stage(value: str) -> str:
    if value not in FUNNEL:
        raise ValueError(f"must be one of {', '.join(FUNNEL)}")
    return value


def _time_zone(value: str) -> str:
    value = value.strip()
    if value not in time_zones():
        raise ValueError(f"{value[:60]!r} is not an IANA time zone like Europe/Paris")
    return value


def _domains(values: list[str]) -> list[str]:
    """E-mail domains, lower case, ``@`` dropped, each once, in the ASCII form a
    browser would use for the same host (``Bücher.de`` is ``xn--bcher-kva.de``);
    ValueError names the first one that is not a domain."""
    result: list[str] = []
    for raw in values:
        domain = raw.strip().lstrip("@").lower()
        if not domain:
            continue
        try:
            ascii_domain = ascii_host(domain)
        except BadUrl:
            ascii_domain = ""
        if not _DOMAIN.match(ascii_domain):
            raise ValueError(f"{raw.strip()[:80]!r} is not a domain like example.com")
        if ascii_domain not in result:
            result.append(ascii_domain)
    return result


def _origins(values: list[str]) -> list[str]:
    return list(dict.fromkeys(normalise_origins(values)))


# Form field → (model attribute, check). The checks raise ValueError with a
# message meant for the person who typed the value.
_CHECKS: dict[str, tuple[str, Callable]] = {
    "name": ("name", _name),
    "origins": ("allowed_origins", _origins),
    "privacy_mode": ("privacy_mode", _privacy),
    "reached_sales_stage": ("reached_sales_stage", _stage),
    "timezone": ("timezone", _time_zone),
    "internal_domains": ("internal_domains", _domains),
}


def check_settings(**fields) -> dict[str, object]:
    """The given settings checked and normalised, by model attribute; fields
    that are None are left out. SiteInvalid lists every bad field."""
    values, errors = {}, {}
    for field, value in fields.items():
        if value is None:
            continue
        attribute, check = _CHECKS[field]
        try:
            values[attribute] = check(value)
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise SiteInvalid(errors)
    return values


def update_site(
    session: Session,
    site: Site,
    *,
    name: str | None = None,
    origins: list[str] | None = None,
    privacy_mode: str | None = None,
    reached_sales_stage: str | None = None,
    timezone: str | None = None,
    internal_domains: list[str] | None = None,
) -> Site:
    """Change the given settings of ``site`` (None leaves one as it is). Every
    value is checked before any is set, so a bad form changes nothing; a new
    reached-sales stage re-decides which leads reached sales; the collector's
    cache is dropped. Does not commit."""
    values = check_settings(
        name=name,
        origins=origins,
        privacy_mode=privacy_mode,
        reached_sales_stage=reached_sales_stage,
        timezone=timezone,
        internal_domains=internal_domains,
    )
    threshold = values.get("reached_sales_stage", site.reached_sales_stage)
    moved = threshold != site.reached_sales_stage
    for attribute, value in values.items():
        setattr(site, attribute, value)
    session.flush()
    if moved:
        # Who "reached sales" is decided by the threshold: decide it again.
        recompute_stages(session, site.id)
    forget()
    return site


def check_new_key(session: Session, key: str) -> str:
    """A key chosen by hand for a new site: URL-safe and not taken yet."""
    key = key.strip()
    try:
        check_key(key)
    except ValueError as exc:
        raise SiteInvalid({"key": str(exc)}) from None
    if session.scalar(select(Site.id).where(Site.key == key)) is not None:
        raise SiteInvalid({"key": f"the key {key!r} is taken"})
    return key


def create_site(
    session: Session,
    name: str,
    *,
    origins: list[str],
    privacy_mode: str = "anonymous",
    key: str | None = None,
    reached_sales_stage: str | None = None,
    timezone: str | None = None,
    internal_domains: list[str] | None = None,
    now: datetime | None = None,
) -> Site:
    """Add a site with all its settings checked first (the sites page,
    ``resonance site add``, the demo): SiteInvalid (a ValueError) lists every bad
    field, nothing is written then. The key is random unless given. Does not
    commit."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    try:
        key = check_new_key(session, key) if key else secrets.token_urlsafe(9)
    except SiteInvalid as exc:
        errors |= exc.errors
    try:
        values = check_settings(
            name=name,
            origins=origins,
            privacy_mode=privacy_mode,
            reached_sales_stage=reached_sales_stage,
            timezone=timezone,
            internal_domains=internal_domains,
        )
    except SiteInvalid as exc:
        errors |= exc.errors
    if errors:
        raise SiteInvalid(errors)
    site = Site(
        key=key,
        enabled=True,
        created_at=(now or datetime.now(UTC)).replace(tzinfo=None),
        **values,
    )
    session.add(site)
    session.flush()
    forget()
    return site


def embed_tag(host: str, key: str) -> str:
    """What a marketer pastes into every page of the site ``key``: the stub that
    queues calls made before the snippet loads, then the tag that loads it from
    ``host``. The sites page and ``resonance site add`` both show this."""
    return STUB + "\n" + snippet_tag(host, key)
