"""How late the dashboards' read replica is: from a beacon's 204 (its events
committed on the primary) until its page view can be read on a streaming
replica, which is when the dashboards can show it.

Makes the replica the way the tests do (``tests/replica.py``: ``pg_basebackup -R
-X stream`` of the local cluster into a second cluster on a free port), in a
scratch schema of the ``test`` database, migrated here and dropped at the end.
Beacons go through the real collector (``POST /e`` of the app's test client),
one at a time; after each 204 the replica is polled for the page view's event
id. ``--load-threads N`` keeps N more threads posting beacons meanwhile, to see
the lag while the primary takes a steady stream. Loopback only, both clusters on
this machine: the figures are the replication's own delay, not a network's.

    python bench/replica_lag.py --beacons 200
    python bench/replica_lag.py --beacons 200 --load-threads 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

# First, also when PYTHONPATH names the root already (bench/dashboard.py would
# hide the dashboard package); tests/ for the replica helper.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), str(ROOT / "tests")] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from replica import streaming_replica  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from resonance.app import create_app  # noqa: E402
from resonance.core.engine import upgrade  # noqa: E402
from tracker.sites import create_site  # noqa: E402

ADMIN_URL = os.environ.get(
    "RESONANCE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ORIGIN = "https://blog.example.com"
HEADERS = {
    "Origin": ORIGIN,
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}
POLL_LIMIT_S = 30
_ids = itertools.count(1)


def beacon() -> tuple[str, bytes]:
    """A page view as the snippet sends it: its event id and the body."""
    n = next(_ids)
    event_id = f"pv{n:010d}"
    body = {
        "s": "blog",
        "v": f"visitor{n % 500:05d}",
        "e": [
            {
                "t": "pv",
                "id": event_id,
                "p": event_id,
                "ts": int(time.time() * 1000),
                "u": f"{ORIGIN}/post-{n % 40}",
                "ti": "A post",
                "vw": 1440,
                "vh": 900,
                "dh": 3000,
            }
        ],
    }
    return event_id, json.dumps(body).encode()


def measure(beacons: int, load_threads: int) -> list[float]:
    """Seconds from each beacon's 204 until the replica shows its page view."""
    schema = f"rs_lag_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{ADMIN_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        with streaming_replica(ADMIN_URL) as replica:
            return lags(url, replica.url_of(url), beacons, load_threads)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def lags(url: str, replica_url: str, beacons: int, load_threads: int) -> list[float]:
    """The lags of ``beacons`` beacons, through an app on ``url`` whose dashboards
    read ``replica_url`` (a streaming replica of it, already migrated)."""
    app = create_app(
        {
            "DATABASE_URL": url,
            "DASHBOARD_DATABASE_URL": replica_url,
            "SECRET_KEY": "bench",
            "COLLECTOR_RATE_LIMIT": "",  # off: one client posts them all
            "ALERTS_IN_WORKERS": False,
        }
    )
    with app.extensions["resonance.sessionmaker"]() as session:
        create_site(
            session, "Blog", origins=[ORIGIN], privacy_mode="always", key="blog"
        )
        session.commit()
    replica = app.extensions["resonance.replica_engine"]
    stop = threading.Event()

    def load() -> None:
        client = app.test_client()
        while not stop.is_set():
            client.post("/e", data=beacon()[1], headers=HEADERS)

    threads = [threading.Thread(target=load) for _ in range(load_threads)]
    for thread in threads:
        thread.start()
    client, lags = app.test_client(), []
    query = text("SELECT 1 FROM pageviews WHERE event_id = :id")
    try:
        with replica.connect() as connection:
            for _ in range(beacons):
                event_id, body = beacon()
                answer = client.post("/e", data=body, headers=HEADERS)
                stored = time.perf_counter()
                assert answer.status_code == 204, answer.get_data(as_text=True)
                while connection.scalar(query, {"id": event_id}) is None:
                    connection.rollback()  # a fresh snapshot at the next poll
                    if time.perf_counter() - stored > POLL_LIMIT_S:
                        late = f"{event_id} not on the replica in {POLL_LIMIT_S} s"
                        raise SystemExit(late)
                lags.append(time.perf_counter() - stored)
                connection.rollback()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        app.extensions["resonance.engine"].dispose()
        replica.dispose()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beacons", type=int, default=200)
    parser.add_argument("--load-threads", type=int, default=0)
    args = parser.parse_args()
    lags = sorted(measure(args.beacons, args.load_threads))
    ms = [lag * 1000 for lag in lags]
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(
        f"{len(ms)} beacons, {args.load_threads} loading threads: replica lag "
        f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, "
        f"max {ms[-1]:.2f} ms, min {ms[0]:.2f} ms"
    )


if __name__ == "__main__":
    main()
