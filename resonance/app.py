"""The Resonance application shell: the factory that wires config, database and
blueprints together. Features live in ``tracker`` (write side) and ``dashboard``
(read side); this package holds only what joins them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from resonance import auth
from resonance.core import (
    config,
    db,
    errors,
    input_guard,
    limits,
    metrics,
    security_headers,
    unavailable,
)

# The folder holding the packages: the checkout, or site-packages once installed.
ROOT = Path(__file__).resolve().parent.parent


def static_folder() -> Path:
    """The snippet and the dashboard's files: the repository's top-level
    ``static/``, which a wheel carries as ``resonance/static`` (pyproject.toml)."""
    packaged = Path(__file__).resolve().parent / "static"
    return packaged if packaged.is_dir() else ROOT / "static"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; ``test_config`` overrides the environment (tests)."""
    app = Flask(
        __name__,
        instance_path=str(config.data_dir(ROOT)),
        instance_relative_config=True,
        static_folder=str(static_folder()),
        static_url_path="/static",
    )
    config.configure(app, test_config)
    db.init_app(app)
    security_headers.init_app(app)
    input_guard.init_app(app)

    from dashboard.realtime_views import bp as realtime_bp
    from dashboard.sales_views import bp as sales_bp
    from dashboard.sites_views import bp as sites_bp
    from dashboard.users_views import bp as users_bp
    from dashboard.views import bp as dashboard_bp
    from resonance.demo.pages import bp as demo_bp
    from tracker.api import bp as api_bp
    from tracker.openapi import bp as openapi_bp
    from tracker.views import bp as tracker_bp

    blueprints = (tracker_bp, api_bp, openapi_bp, dashboard_bp, sales_bp, demo_bp)
    for blueprint in (*blueprints, sites_bp, realtime_bp, users_bp):
        app.register_blueprint(blueprint)
    from dashboard.kind_views import bp as kinds_bp  # content kinds, segment names

    app.register_blueprint(kinds_bp)
    from dashboard.account_views import bp as accounts_bp  # accounts for sales

    app.register_blueprint(accounts_bp)
    from dashboard.alert_views import bp as alerts_bp  # alerts page and rules

    app.register_blueprint(alerts_bp)
    auth.init_app(app)  # login, roles, CSRF: after every blueprint
    from dashboard import digest_views  # after auth: its unsubscribe is CSRF-exempt

    digest_views.init_app(app)
    limits.init_app(app)  # wraps the marked views: after every blueprint
    unavailable.register(app)

    errors.register(app)  # JSON for /e, /api and ?format=json; pages otherwise

    from tracker import collector

    collector.init_app(app)  # POST /e, before Flask: after the limiter
    if proxies := int(app.config["PROXY_COUNT"]):
        # Behind nginx: take the client address from X-Forwarded-For (outermost,
        # so that the collector sees it too).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.get("/healthz")
    def health():
        """Liveness for load balancers: the app answers and the database too."""
        with db.engine().connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return jsonify(status="ok")

    from tracker.inbox import waiting

    metrics.init_app(app, inbox=waiting)  # times every request: outermost, last
    _start_alerts(app)
    return app


def _start_alerts(app: Flask) -> None:
    """Deliver alerts from a thread of this process (so one arrives within
    seconds of its beacon), unless ``ALERTS_IN_WORKERS`` is off (default: on,
    off under test; then ``resonance alerts deliver --follow`` does it). The
    thread ends with the app's engine (``dispose()``); an in-memory SQLite
    database has no outbox another connection could read."""
    app.config.setdefault("ALERTS_IN_WORKERS", not app.testing)
    engine = app.extensions["resonance.engine"]
    if not app.config["ALERTS_IN_WORKERS"] or engine.url.database in (
        None,
        "",
        ":memory:",
    ):
        return
    from sqlalchemy import event

    from resonance.core.mail import MailSettings
    from tracker import outbox

    worker = outbox.start_worker(
        app.extensions["resonance.sessionmaker"], MailSettings.from_config(app.config)
    )
    app.extensions["resonance.alerts"] = worker
    event.listen(engine, "engine_disposed", lambda _engine: worker.stop(timeout=0))
