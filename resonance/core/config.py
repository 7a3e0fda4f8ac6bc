"""Configuration from the environment.

Owns: turning environment variables into Flask config keys. Imports nothing of the
app, so the CLI, tests and gunicorn all configure the same way.

Read here:
- ``RESONANCE_DATA_DIR``: the folder for what Resonance writes itself (Flask's
  instance folder): the default SQLite database, the generated secret key and
  the heatmap snapshots. Default: ``instance/`` of a source checkout, where a
  developer's database has always been; for an installed package
  ``$XDG_DATA_HOME/resonance`` (``~/.local/share/resonance``), never the
  package's own folder inside a virtual environment.
- ``DATABASE_URL``: SQLAlchemy URL; default ``resonance.db`` in the data folder.
  ``postgres://`` and ``postgresql://`` are routed to the psycopg 3 driver.
- ``RESONANCE_DASHBOARD_DATABASE_URL``: a streaming replica of ``DATABASE_URL``
  that dashboard pages read (``resonance.core.db``); unset, they read
  ``DATABASE_URL`` like everything else. Routed to psycopg 3 the same way.
- ``SECRET_KEY``: when unset, generated once and kept in the data folder's
  ``secret_key``.
- ``REDIS_URL``: rate-limit counters in Redis (shared by every worker).
- ``RESONANCE_*``: any other key, e.g. ``RESONANCE_PROXY_COUNT=1`` behind nginx,
  ``RESONANCE_SESSION_COOKIE_SECURE=true`` to mark the session cookie Secure
  even when the proxy does not say the request was HTTPS.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


def data_dir(code_root: Path) -> Path:
    """The absolute folder Resonance writes its own files to (module docstring).

    ``code_root`` holds the ``resonance`` package: a source checkout when its
    ``pyproject.toml`` sits there, else an installation's site-packages."""
    if raw := os.environ.get("RESONANCE_DATA_DIR"):
        return Path(raw).expanduser().absolute()
    if (code_root / "pyproject.toml").is_file():
        return code_root / "instance"
    # XDG Base Directory: an unset, empty or relative XDG_DATA_HOME is ignored.
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "resonance"


def snapshot_dir(app: Flask) -> Path:
    """Where heatmap screenshots are kept: ``RESONANCE_SNAPSHOT_DIR``, else
    ``snapshots/`` in the data folder."""
    return Path(app.config.get("SNAPSHOT_DIR") or Path(app.instance_path) / "snapshots")


def database_url(instance_path: str, raw: str | None = None) -> str:
    """Return the SQLAlchemy URL to use, defaulting to SQLite in the data folder."""
    url = raw if raw is not None else os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'resonance.db'}"
    return with_driver(url)


def with_driver(url: str) -> str:
    """``url`` with ``postgres://`` and ``postgresql://`` routed to psycopg 3
    (SQLAlchemy's default PostgreSQL driver is psycopg2, not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    """Return ``SECRET_KEY`` from the environment, or one kept in the data folder.

    A key that changes at every start would log everybody out, and a constant in
    code would be public, so an unset key is generated once and kept on disk.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def configure(app: Flask, overrides: dict | None = None) -> None:
    """Fill ``app.config`` from defaults, the environment, then ``overrides``."""
    # Only its owner reads the folder: it holds the secret key and the database.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=database_url(app.instance_path),
        # Beacons are small; anything bigger is refused before it is read.
        MAX_BEACON_BYTES=64 * 1024,
        PROXY_COUNT=0,
        DEMO_SITE_KEY="demo",
        # The session cookie: no script reads it, no cross-site POST carries it,
        # and "auto" marks it Secure when the request came over HTTPS.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE="auto",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # A CSRF token lives as long as the session (a tab left open for an
        # hour must still be able to post its form).
        WTF_CSRF_TIME_LIMIT=None,
        REDIS_URL=os.environ.get("REDIS_URL") or None,
    )
    app.config.from_prefixed_env("RESONANCE")
    if overrides:
        app.config.update(overrides)
    if "DATABASE_URL" in (overrides or {}):
        app.config["DATABASE_URL"] = database_url(
            app.instance_path, overrides["DATABASE_URL"]
        )
    if replica := app.config.get("DASHBOARD_DATABASE_URL"):
        app.config["DASHBOARD_DATABASE_URL"] = with_driver(str(replica))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.instance_path)
