"""What keeping the summaries costs the collector: wall and CPU time per batch of
``store_group`` (the writer's work) with the summaries' upkeep and, as the
baseline in the same run, without it (``tracker.ingest._mark_summaries``, which
marks the content-days a group changes, replaced by a no-op), for groups of 1,
8 and 32 snippet-shaped batches (a page view, 3 clicks, scroll, layout of 3
sections, attention), rounds interleaved. The refresh of past days runs apart,
in the workers' background thread: ``--refresh`` times it too.

    python bench/summaries_upkeep.py sqlite
    python bench/summaries_upkeep.py postgresql --rounds 5

On PostgreSQL the CPU figure is the client's only (the server's is apart).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profile_ingest import META, body, database  # noqa: E402
from resonance.core.engine import make_engine, upgrade  # noqa: E402
from tracker import ingest  # noqa: E402
from tracker.sites import create_site  # noqa: E402
from tracker.writer import store_group  # noqa: E402

BATCHES = 400
KEEPING = ingest._mark_summaries


def _none(_sql, _plan) -> None:
    return None


def _round(factory, size: int, first: int, upkeep: bool) -> tuple[float, float]:
    """Store BATCHES new batches in groups of ``size``; (wall, CPU) µs a batch."""
    ingest._mark_summaries = KEEPING if upkeep else _none
    items = [(body(first + n), META, datetime.now(UTC)) for n in range(BATCHES)]
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, BATCHES, size):
        results = store_group(factory, items[start : start + size])
        assert all(r == 7 for r in results), results
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ingest._mark_summaries = KEEPING
    return wall / BATCHES * 1e6, cpu / BATCHES * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=3)
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
        first = 0
        print(f"{args.store}: µs per batch, median of {args.rounds} interleaved rounds")
        print("group | wall without | wall with | ratio | CPU without | CPU with |")
        for size in (1, 8, 32):
            timed: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for _ in range(args.rounds):
                for upkeep in (False, True):
                    timed[upkeep].append(_round(factory, size, first, upkeep))
                    first += BATCHES
            (w0, c0), (w1, c1) = (
                tuple(statistics.median(x[i] for x in timed[k]) for i in (0, 1))
                for k in (False, True)
            )
            print(
                f"{size:>5} | {w0:>12,.0f} | {w1:>9,.0f} | {w1 / w0:.2f}× |"
                f" {c0:>11,.0f} | {c1:>8,.0f} | ({c1 / c0:.2f}×)"
            )
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
