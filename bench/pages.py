"""Every dashboard page on the demo database, warm, in the Flask test client.

    python bench/pages.py                     # a fresh SQLite demo in /tmp
    python bench/pages.py --db postgresql+psycopg://postgres@127.0.0.1/rs_pages
    python bench/pages.py --db sqlite:////path/to/resonance.db --runs 9

The database is seeded with the demo (``resonance demo``'s code) when it has no
site, with snapshots of its most viewed pages as ``resonance serve`` makes them
(``--no-snapshots``: heatmaps over the page outline instead). The pages are
found the way a person finds them: from ``/dash/`` as an admin, following every
link under ``/dash`` (at most ``--per-endpoint`` URLs of each endpoint), plus
the content page's filter variants that forms reach
(segments, compare, a device). Each page is fetched once to warm caches, then
``--runs`` times; the median wall time and the median CPU time of this process
are printed per page in ms, slowest first, against the ``--budget``.

For SQLite the CPU time is the whole cost (the database runs in process); for
PostgreSQL it leaves out the server's share, which is the gap to wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and would shadow
# the ``dashboard`` package: the project root goes first instead.
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from bs4 import BeautifulSoup  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from resonance.app import create_app  # noqa: E402
from resonance.auth import users  # noqa: E402
from resonance.cli import seed_demo_if_empty  # noqa: E402
from resonance.core import db  # noqa: E402
from resonance.core.engine import upgrade  # noqa: E402
from resonance.core.models import Site, User  # noqa: E402

# Filter variants of the content page that only its form reaches.
CONTENT_VARIANTS = (
    "segment=leads",
    "segment=sales",
    "segment=sales&compare=not:sales",
    "device=mobile",
)
# Links that are not pages to time: leaving, and binary or streamed answers.
SKIP_ENDPOINTS = {"auth.logout", "dashboard.snapshot_png", "dashboard.plotly_js"}


@dataclass(frozen=True)
class Timing:
    """One page: its URL, endpoint, status and median wall and CPU ms."""

    url: str
    endpoint: str
    status: int
    wall_ms: float
    cpu_ms: float


def seeded_app(url: str, snapshots: bool = True):
    """The app on ``url``, migrated, with the demo seeded if it has no site."""
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench", "ALERTS_IN_WORKERS": False}
    )
    upgrade(url)
    with app.app_context():
        if not db.get_session().scalar(select(func.count()).select_from(Site)):
            seed_demo_if_empty(snapshots=snapshots)
    return app


def admin_client(app):
    """A test client logged in as the admin ``bench-pages`` (created once)."""
    with app.app_context():
        session = db.get_session()
        user = session.scalar(select(User).where(User.username == "bench-pages"))
        if user is None:
            user = users.create_user(
                session, "bench-pages", "admin", password=users.new_password()
            )
            session.commit()
        uid, nonce = user.id, user.session_nonce
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["uid"], cookie["nonce"] = uid, nonce
    return client


def endpoint_of(app, url: str) -> str | None:
    """The endpoint serving ``url``'s path, or None when no GET route does."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(url).path, method="GET")
    except HTTPException:
        return None
    return endpoint


def discover(app, client, per_endpoint: int) -> list[str]:
    """The dashboard's pages reachable by links from ``/dash/``, breadth first,
    at most ``per_endpoint`` of each endpoint, plus the content page's variants."""
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    queue, pages = ["/dash/"], []
    while queue:
        url = queue.pop(0)
        endpoint = endpoint_of(app, url)
        if url in seen or endpoint is None or endpoint in SKIP_ENDPOINTS:
            continue
        seen.add(url)
        if counts[endpoint] >= per_endpoint:
            continue
        counts[endpoint] += 1
        response = client.get(url)
        pages.append(url)
        if endpoint == "dashboard.content_page" and counts[endpoint] == 1:
            joiner = "&" if "?" in url else "?"
            pages += [f"{url}{joiner}{variant}" for variant in CONTENT_VARIANTS]
        if response.mimetype == "text/html":
            queue += links(response.get_data(as_text=True))
    return pages


def links(html: str) -> list[str]:
    """The page's links into the dashboard (no fragments, no other hosts)."""
    found = []
    for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
        href = anchor["href"].split("#", 1)[0]
        if href.startswith("/dash"):
            found.append(href)
    return found


def timed(client, app, url: str, runs: int) -> Timing:
    """Warm once, then the medians of ``runs`` fetches of ``url``."""
    status = client.get(url).status_code
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        client.get(url)
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return Timing(
        url,
        endpoint_of(app, url) or "?",
        status,
        statistics.median(walls),
        statistics.median(cpus),
    )


def report(timings: list[Timing], budget_ms: float, label: str) -> str:
    """The table, slowest first, and a summary line against the budget."""
    lines = [f"# {label}", f"{'wall ms':>8} {'cpu ms':>8} status  page"]
    for t in sorted(timings, key=lambda t: -t.wall_ms):
        flag = "  OVER" if t.wall_ms > budget_ms else ""
        lines.append(f"{t.wall_ms:8.1f} {t.cpu_ms:8.1f} {t.status:6}  {t.url}{flag}")
    over = [t for t in timings if t.wall_ms > budget_ms]
    slowest = max(timings, key=lambda t: t.wall_ms)
    lines.append(
        f"{len(timings)} pages of {len({t.endpoint for t in timings})} endpoints; "
        f"slowest {slowest.wall_ms:.1f} ms ({slowest.endpoint}); "
        f"median {statistics.median(t.wall_ms for t in timings):.1f} ms; "
        f"over {budget_ms:g} ms: {len(over)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a fresh SQLite demo)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-endpoint", type=int, default=3)
    parser.add_argument("--budget", type=float, default=300.0, help="ms a page")
    parser.add_argument(
        "--no-snapshots", action="store_true", help="seed the demo without them"
    )
    args = parser.parse_args(argv)
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-pages-')}/demo.db"
    app = seeded_app(url, snapshots=not args.no_snapshots)
    client = admin_client(app)
    pages = discover(app, client, args.per_endpoint)
    timings = [timed(client, app, page, args.runs) for page in pages]
    shots = "no snapshots" if args.no_snapshots else "snapshots"
    label = f"{url.split(':')[0]}: demo database ({shots})"
    output = report(timings, args.budget, label)
    print(output)
    return output


if __name__ == "__main__":
    main()
