"""Rate limits with Flask-Limiter: the collector per site and client, the login
form per client address and per username.

Owns: the per-app :class:`~flask_limiter.Limiter`, the marks views carry
(:func:`collector`, :func:`login`), and the 429 answer. Views are marked at import
time and wrapped when the app is built, so each app (tests build many) has its
own limiter, storage and configuration.

Configuration (``RESONANCE_<KEY>``, limits in Flask-Limiter's notation, several
joined by ``;``; an empty value turns that limit off):

- ``COLLECTOR_RATE_LIMIT`` (``30/second;1200/minute``) per site and client
  address, for ``GET /e`` and ``POST /e``. The site is the ``s`` key on GET and
  the page's ``Origin`` on POST (reading the body to find the key would cost more
  than the check saves). A browser sends a few beacons per page view, so this
  leaves room for a whole office behind one NAT address.
- ``LOGIN_RATE_LIMIT`` (``10/minute;100/hour``) login attempts per client address,
  and ``LOGIN_USER_RATE_LIMIT`` (``50/hour``) per username, against password
  guessing spread over many addresses.
- ``REDIS_URL`` (not prefixed): counters in Redis, shared by every gunicorn
  worker; without it they are in each worker's memory. When Redis is unreachable
  the limits fall back to memory and requests are served, never a 500.
- ``RATELIMIT_KEY_PREFIX`` (``resonance``): the prefix of the counters' keys.
- ``RATELIMIT_ENABLED`` (``true``): false turns every limit off.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from flask import Flask, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from resonance.core.respond import machine_request

# A callable(message) -> Response: the page a person sees when refused.
PAGE_EXTENSION = "resonance.rate_limited_page"

DEFAULTS = {
    "COLLECTOR_RATE_LIMIT": "30/second;1200/minute",
    "LOGIN_RATE_LIMIT": "10/minute;100/hour",
    "LOGIN_USER_RATE_LIMIT": "50/hour",
    "RATELIMIT_KEY_PREFIX": "resonance",
    "RATELIMIT_ENABLED": True,
}
_MARK = "_resonance_rate_limit"
log = logging.getLogger(__name__)


def collector(view: Callable) -> Callable:
    """Mark a collector view: limited per site and client address."""
    setattr(view, _MARK, "collector")
    return view


def login(view: Callable) -> Callable:
    """Mark the login view: POSTs limited per client address and per username."""
    setattr(view, _MARK, "login")
    return view


def client_address() -> str:
    """The client's address (ProxyFix has applied ``PROXY_COUNT``)."""
    return request.remote_addr or "-"


def site_and_client() -> str:
    """The collector's key: which site the beacon is for, and from whom."""
    site = request.args.get("s") if request.method == "GET" else None
    site = site or request.headers.get("Origin") or "-"
    return collector_key(site, client_address())


def collector_key(site: str, client: str) -> str:
    """The collector's counter key, for Flask's ``GET /e`` and ``POST /e``."""
    return f"{site[:200]}|{client}"


def login_username() -> str:
    """The username a login attempt is for (lowercased, bounded)."""
    return "user:" + (request.form.get("username") or "").strip().lower()[:64]


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-memory counters, with expired keys swept inline.

    The stock storage starts a ``threading.Timer`` thread 10 ms after any hit to
    drop expired keys: on a collector taking hundreds of beacons a second that is
    a thread started every 10 ms, per worker, all competing for the GIL with the
    requests (measured: 5 % of the worker's samples under load). Counters are
    already checked for expiry when read, so sweeping the rest once a second, on
    the request that finds it due, keeps memory bounded just the same.
    """

    STORAGE_SCHEME = ["resonance-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options) -> None:
        super().__init__(uri, **options)
        self.timer.cancel()  # the stock storage starts one at once
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the override
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


class CollectorLimit:
    """The collector's limit for ``POST /e``, which is served before Flask
    (``tracker.collector``): the same rule, counted in the limiter's storage.

    Like Flask-Limiter's ``in_memory_fallback``: when the storage (Redis) fails,
    counting goes on in this process's memory for ``RETRY_STORAGE_S``, then the
    storage is tried again. A broken counter store never fails a beacon.
    """

    RETRY_STORAGE_S = 10.0

    def __init__(self, limiter: Limiter, rule: str, prefix: str) -> None:
        self._items: list[RateLimitItem] = parse_many(rule)
        self._prefix = prefix
        self._shared = FixedWindowRateLimiter(limiter.storage)
        self._local = FixedWindowRateLimiter(SweptMemoryStorage())
        self._shared_after = 0.0  # monotonic time from which to use storage again

    def refuse(self, site: str, client: str) -> tuple[int, str] | None:
        """Count a beacon; None when allowed, else the seconds until it would be
        and the rule it broke."""
        key = collector_key(site, client)
        for item in self._items:
            strategy = self._strategy()
            try:
                allowed = strategy.hit(item, self._prefix, "collect", key)
            except Exception:  # noqa: BLE001 - swallowed, like swallow_errors
                log.warning("rate-limit storage failed; counting in memory")
                self._shared_after = time.monotonic() + self.RETRY_STORAGE_S
                strategy = self._local
                allowed = strategy.hit(item, self._prefix, "collect", key)
            if not allowed:
                stats = strategy.get_window_stats(item, self._prefix, "collect", key)
                return max(1, math.ceil(stats.reset_time - time.time())), str(item)
        return None

    def _strategy(self) -> FixedWindowRateLimiter:
        if time.monotonic() < self._shared_after:
            return self._local
        return self._shared


def collector_limit(app: Flask) -> CollectorLimit | None:
    """The app's limit for ``POST /e``, or None when limits are off."""
    rule = app.config["COLLECTOR_RATE_LIMIT"]
    if not rule or not app.config["RATELIMIT_ENABLED"]:
        return None
    limiter: Limiter = app.extensions["resonance.limiter"]
    return CollectorLimit(limiter, rule, app.config["RATELIMIT_KEY_PREFIX"])


def too_many_message(rule: str, retry: int) -> str:
    """The 429's message, for Flask views and ``POST /e`` alike."""
    return f"too many requests ({rule}); retry in {retry} s"


def init_app(app: Flask) -> Limiter:
    """Create the app's limiter and wrap every marked view with its limits."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    storage = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
    limiter = Limiter(
        client_address,
        storage_uri=storage or "resonance-memory://",
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        strategy="fixed-window",
        swallow_errors=True,  # a broken counter store never fails a request
        in_memory_fallback_enabled=True,
        headers_enabled=False,
        enabled=bool(app.config["RATELIMIT_ENABLED"]),
    )
    app.config["RATELIMIT_ENABLED"] = bool(app.config["RATELIMIT_ENABLED"])
    limiter.init_app(app)
    # Flask-Limiter also checks every request before it is routed, for default
    # and application-wide limits. Resonance has none (the marked views carry
    # their own), so that check only cost every beacon a second evaluation.
    # (A disabled limiter registers no such check.)
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks:
        checks.remove(limiter._check_request_limit)
    app.extensions["resonance.limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        mark = getattr(view, _MARK, None)
        if mark is not None:
            app.view_functions[endpoint] = _wrap(app, limiter, mark, view)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter


def _wrap(app: Flask, limiter: Limiter, mark: str, view: Callable) -> Callable:
    if mark == "collector":
        rules = [("COLLECTOR_RATE_LIMIT", site_and_client, None)]
    else:
        rules = [
            ("LOGIN_RATE_LIMIT", client_address, ["POST"]),
            ("LOGIN_USER_RATE_LIMIT", login_username, ["POST"]),
        ]
    for key, key_func, methods in rules:
        value = app.config[key]
        if not value:
            continue
        parse_many(value)  # a typo fails at start, not at the first request
        view = limiter.limit(value, key_func=key_func, methods=methods)(view)
    return view


def too_many_requests(error: RateLimitExceeded):
    """429 with ``Retry-After``: JSON for the collector, the API and scripts;
    for a person the page registered as ``app.extensions[PAGE_EXTENSION]``
    (the login page, by ``resonance.auth``, which sits above this layer)."""
    retry = retry_after()
    message = too_many_message(error.description, retry)
    page = current_app.extensions.get(PAGE_EXTENSION)
    if machine_request() or page is None:
        response = jsonify(error=message, retry_after=retry)
        response.status_code = 429
    else:
        response = page(message)
    response.headers["Retry-After"] = str(retry)
    return response


def retry_after() -> int:
    """Seconds until the breached limit's window resets (at least 1)."""
    limiter: Limiter = current_app.extensions["resonance.limiter"]
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))
