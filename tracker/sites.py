"""Sites: create, edit, and the collector's cached look-up by key.

Owns: the ``sites`` table's writes and the hot-path read ``lookup`` (every beacon
needs its site; a short in-process cache saves that round trip).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import PRIVACY_MODES, Site
from tracker.urls import origin

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
            if "://" not in entry:
                raise ValueError(f"{entry!r} is not an origin like https://example.com")
            result.append(origin(entry))
    return result


def create_site(
    session: Session,
    name: str,
    *,
    origins: list[str],
    privacy_mode: str = "anonymous",
    key: str | None = None,
    now: datetime | None = None,
) -> Site:
    """Add a site; its key is random unless given. Does not commit."""
    if privacy_mode not in PRIVACY_MODES:
        raise ValueError(f"privacy mode must be one of {', '.join(PRIVACY_MODES)}")
    if not name.strip():
        raise ValueError("a site needs a name")
    allowed = normalise_origins(origins)
    site = Site(
        key=key or secrets.token_urlsafe(9),
        name=name.strip(),
        allowed_origins=allowed,
        privacy_mode=privacy_mode,
        enabled=True,
        created_at=(now or datetime.now(UTC)).replace(tzinfo=None),
    )
    session.add(site)
    session.flush()
    forget()
    return site
