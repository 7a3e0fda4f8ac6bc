"""In-process cost of storing beacons, without HTTP: CPU time per batch of
``store_group`` (what the collector's writer thread runs) for groups of 1, 8 and
32 snippet-shaped batches, on a fresh SQLite file or PostgreSQL schema.

    python bench/profile_ingest.py sqlite
    python bench/profile_ingest.py postgresql --profile 32   # needs pyinstrument

On PostgreSQL the figure is the client's CPU only (the server's is apart).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import POSTGRES_URL  # noqa: E402
from resonance.core.engine import make_engine, upgrade  # noqa: E402
from tracker.ingest import RequestMeta  # noqa: E402
from tracker.sites import create_site  # noqa: E402
from tracker.writer import store_group  # noqa: E402

BATCHES = 800
META = RequestMeta(ip="203.0.113.1", user_agent="Mozilla/5.0 Chrome/131.0")


def body(n: int) -> bytes:
    """The batch of bench/ingest.lua: page view, 3 clicks, scroll, layout, attention."""
    ts, pv, i = int(time.time() * 1000), f"pv{n:012d}", f"{n:012d}"
    href = "https://bench.example.com/demo"
    clicks = [
        {"t": "c", "id": f"c{k}{i}", "p": pv, "ts": ts, "x": 300, "y": 400 * k,
         "vw": 1440, "s": f"#cta{k}", "fx": 0.25, "fy": 0.5, "tg": "a",
         "tx": "Book a demo", "h": href, "in": True}
        for k in (1, 2, 3)
    ]  # fmt: skip
    events = [
        {"t": "pv", "id": pv, "p": pv, "ts": ts, "ti": f"Post {n % 300}",
         "u": f"https://bench.example.com/blog/post-{n % 300}?utm_source=bench",
         "r": "https://www.google.com/", "vw": 1440, "vh": 900, "dh": 4200},
        *clicks,
        {"t": "s", "id": f"s1{i}", "p": pv, "ts": ts, "d": 3100, "dh": 4200},
        {"t": "l", "id": f"l1{i}", "p": pv, "ts": ts,
         "sec": [[1, "Title", 0, 900], [2, "Why", 900, 1500], [2, "How", 2400, 1800]]},
        {"t": "a", "id": f"a1{i}", "p": pv, "ts": ts, "ms": 42000,
         "a": [[0, 12000], [1, 20000], [2, 10000]]},
    ]  # fmt: skip
    return json.dumps(
        {"s": "bench0", "v": f"visitor{n % 5000:08d}", "e": events}
    ).encode()


def database(store: str) -> tuple[str, callable]:
    if store == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/profile.db", lambda: None
    schema = f"rs_profile_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", type=int, help="pyinstrument this group size")
    args = parser.parse_args()
    url, drop = database(args.store)
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session:
            create_site(session, "Bench", origins=["*"], privacy_mode="always",
                        key="bench0")  # fmt: skip
            session.commit()
        n = 0
        for size in (1, 8, 32):
            items = []
            for _ in range(BATCHES):
                n += 1
                items.append((body(n), META, datetime.now(UTC)))
            profiler = None
            if args.profile == size:
                import pyinstrument

                profiler = pyinstrument.Profiler()
                profiler.start()
            started = time.process_time()
            for start in range(0, BATCHES, size):
                results = store_group(factory, items[start : start + size])
                assert all(r == 7 for r in results), results
            spent = time.process_time() - started
            if profiler:
                profiler.stop()
                print(profiler.output_text(color=False))
            per_batch = spent / BATCHES * 1e6
            print(
                f"{args.store}: groups of {size:>2}: {per_batch:,.0f} µs CPU per batch"
            )
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
