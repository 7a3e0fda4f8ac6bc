"""Take the documentation's screenshots from the real app, with demo data.

Why: pictures in docs/ drift from the product unless a script makes them. This
one builds a throwaway SQLite database, seeds the demo site through the real
ingest path (``resonance demo``), serves the real app on 127.0.0.1, visits two
demo pages in Chromium so the real-time panel has something to count, and
shoots each dashboard page at 1440 px (desktop) and 390 px (phone). The demo
is seeded with snapshots of its pages, as ``resonance demo`` does, so the
content page shows its heatmap on a real screenshot.

    python scripts/screenshots.py                   # docs/images/*.png
    python scripts/screenshots.py --visitors 20 --pages overview,sites --out /tmp/x

Files are named ``PAGE-WIDTH.png`` (e.g. ``overview-1440.png``). Nothing leaves
the machine: the browser only talks to the local server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from resonance.app import create_app  # noqa: E402
from resonance.core import db  # noqa: E402
from resonance.core.engine import upgrade  # noqa: E402

WIDTHS = (1440, 390)
HEIGHT = 900
MAX_HEIGHT = 1800  # long pages are cut here: the top tells the story
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
DEMO_READS = ("/demo/", "/demo/blog/lead-scoring-that-sales-trusts")


def _first_content(context, base: str) -> str:
    """The content page of the most viewed demo item."""
    rows = _json(context, base + "/dash/sites/demo/content?format=json")["content"]
    return f"/dash/sites/demo/content/{rows[0]['content_id']}"


def _first_account(context, base: str) -> str:
    """The page of the most recently engaged account."""
    found = _json(context, base + "/dash/sites/demo/accounts?format=json")
    return f"/dash/sites/demo/accounts/{found['rows'][0]['account_id']}"


def _first_prospect(context, base: str) -> str:
    """The page of the first prospect a search finds."""
    found = _json(context, base + "/dash/sites/demo/prospects?format=json")["prospects"]
    return f"/dash/sites/demo/prospects/{found[0]['lead_id']}"


# Page name → its path, or a function of (logged-in context, base URL) finding it.
PAGES: dict[str, str | Callable[..., str]] = {
    "overview": "/dash/",
    "sites": "/dash/sites/",
    "site-settings": "/dash/sites/demo/settings",
    "users": "/dash/users/",
    "content-list": "/dash/sites/demo/content",
    "content-page": _first_content,
    "prospects": "/dash/sites/demo/prospects",
    "prospect": _first_prospect,
    "influence": "/dash/sites/demo/influence",
    "accounts": "/dash/sites/demo/accounts",
    "account": _first_account,
    "alerts": "/dash/sites/demo/alerts",
    "alert-rules": "/dash/sites/demo/alerts/rules",
    "digest": "/dash/digest/preview",
    "not-found": "/dash/no-such-page",
}


def _json(context, url: str) -> dict:
    """A JSON twin, fetched with the logged-in browser's cookies."""
    return context.request.get(url, timeout=30_000).json()


class _Quiet(WSGIRequestHandler):
    def log(self, *_args) -> None:  # no access log on the console
        pass


@contextmanager
def serving(database_url: str, visitors: int, days: int) -> Iterator[tuple[str, str]]:
    """The real app over a freshly seeded database, on a free local port: its
    base URL and the password of its one admin, ``docs``."""
    from resonance.auth import users
    from resonance.cli import seed_demo_if_empty
    from resonance.cli.users import create_demo_logins

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "screenshots"})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    base = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        upgrade(database_url)
        # The traffic's URLs on this server: a live visit joins the same pages.
        seed_demo_if_empty(visitors=visitors, days=days, origin=base, snapshots=True)
        # The demo's one login per role, as `resonance serve` makes them, so the
        # users page shows what a team looks like.
        create_demo_logins(app.config["DEMO_SITE_KEY"])
        password = users.new_password()
        users.create_user(db.get_session(), "docs", "admin", password=password)
        db.get_session().commit()
        db.close_session()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, password
    finally:
        server.shutdown()
        app.extensions["resonance.engine"].dispose()


def _read_demo(browser, base: str) -> None:
    """A real visit to two demo pages: beacons through the snippet, so the
    overview's "right now" panel shows live traffic."""
    context = browser.new_context(user_agent=USER_AGENT)
    page = context.new_page()
    for path in DEMO_READS:
        page.goto(base + path)
        page.mouse.wheel(0, 900)
        page.wait_for_timeout(2500)  # the snippet flushes queued events each second
    context.close()


def take(
    out: Path,
    *,
    pages: list[str],
    widths: tuple[int, ...] = WIDTHS,
    visitors: int = 150,
    days: int = 30,
    live_visit: bool = True,
) -> list[Path]:
    """Shoot ``pages`` at ``widths`` into ``out``; the files written."""
    from tracker.snapshots import launched_browser

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'screenshots.db'}"
        with (
            serving(url, visitors, days) as (base, password),
            launched_browser() as (browser),
        ):
            if live_visit:
                _read_demo(browser, base)
            context = _logged_in(browser, base, password)
            for name in pages:
                target = PAGES[name]
                path = target(context, base) if callable(target) else target
                for width in widths:
                    written.append(_shoot(context, base + path, out, name, width))
            context.close()
    return written


def _logged_in(browser, base: str, password: str):
    """A browser context logged in as the admin through the real login form."""
    context = browser.new_context(user_agent=USER_AGENT)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "docs")
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.login-form button[type=submit]")
    page.close()
    return context


def _shoot(context, url: str, out: Path, name: str, width: int) -> Path:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(url, wait_until="networkidle")
    if page.locator(".js-plotly-plot").count() < page.locator("[data-figure]").count():
        page.wait_for_selector(".js-plotly-plot", timeout=15_000)
    path = out / f"{name}-{width}.png"
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    page.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--visitors", type=int, default=150)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--no-live-visit", action="store_true")
    args = parser.parse_args(argv)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown pages {unknown}; known: {', '.join(PAGES)}")
    written = take(
        args.out,
        pages=pages,
        widths=tuple(int(w) for w in args.widths.split(",")),
        visitors=args.visitors,
        days=args.days,
        live_visit=not args.no_live_visit,
    )
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
