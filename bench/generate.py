"""Synthetic load for scale work: N realistic events through the real collector.

    python bench/generate.py 1000000 --workers 2      # into $DATABASE_URL

Writes exactly N events for several made-up sites of 120 content items with
crawled sections and thousands of visitors. The beacons come from the demo's
generator (``resonance.demo``: devices, sources, sessions over the days,
reading, clicks with rage bursts and dead and error clicks, scroll, attention,
sign-ups that identify); what is the benchmark's own is here: the sizes, a
tenth of the visitors anonymous, each visitor's share of N, the workers and the
output. Every event goes through ``tracker.ingest.ingest_many`` (the one writer
of events, the collector's group path), 200 beacons per group and transaction;
then the identified visitors get a CRM profile and a lifecycle-stage history
through ``tracker.crm``, as the demo's do.

Reproducible: visitor ``k`` draws everything from ``Random(f"{seed}:visitor:{k}")``
and the clock is a fixed ``NOW``, so the same N and seed give the same rows
whatever the number of workers. ``--workers W`` splits the visitors over W
processes (visitor k goes to worker k mod W); PostgreSQL writes in parallel,
SQLite serialises writers, so one worker is its best setting.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

# First, also when PYTHONPATH names the root already: python bench/generate.py
# puts bench/ first, where dashboard.py would hide the dashboard package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from bench.replicate import analyze, replicate  # noqa: E402
from resonance.core.engine import make_engine, upgrade  # noqa: E402
from resonance.demo.crm import seed_stages  # noqa: E402
from resonance.demo.feed import feed, store_outlines  # noqa: E402
from resonance.demo.generated_site import generated_site  # noqa: E402
from resonance.demo.sessions import (  # noqa: E402
    LATEST_START,
    Batch,
    Meta,
    simulate_visitor,
)
from resonance.demo.site import Site  # noqa: E402
from resonance.demo.visitors import (  # noqa: E402
    DEVICE_WIDTHS,
    VisitorPlan,
    plan_visitors,
)
from tracker import sites  # noqa: E402

NOW = datetime(2026, 11, 1)
DAYS = 90
SITE_NAMES = ("Northwind", "Contoso", "Fabrikam")
ITEMS_PER_SITE = 120
EVENTS_PER_VISITOR = 60  # on average; heavy-tailed (a few visitors read a lot)
# What one session of the generator holds on these sites, on average: a
# visitor gets as many sessions as its share of the events needs.
EVENTS_PER_SESSION = 10
ANONYMOUS_SHARE = 0.1
BATCHES_PER_COMMIT = 200
PROGRESS_SECONDS = 5.0


# --- the sites -----------------------------------------------------------------


def site_key(index: int) -> str:
    return f"scale-{SITE_NAMES[index].lower()}"


def origin(index: int) -> str:
    return f"https://www.{SITE_NAMES[index].lower()}.example"


def made_up_site(seed: int, index: int) -> Site:
    """Site ``index``: its content items, most popular first."""
    return generated_site(
        origin(index),
        items=ITEMS_PER_SITE,
        seed=f"{seed}:site:{index}",
        widths=DEVICE_WIDTHS,
    )


def store_catalog(session: Session, seed: int, site_count: int) -> None:
    """Create the sites and crawl-store their content items (words per section)."""
    for index in range(site_count):
        site = sites.create_site(
            session,
            SITE_NAMES[index],
            origins=[origin(index)],
            privacy_mode="always",
            key=site_key(index),
            now=NOW - timedelta(days=DAYS + 1),
        )
        store_outlines(
            session, site.id, made_up_site(seed, index), NOW - timedelta(days=DAYS)
        )
    session.commit()


# --- visitors and their beacons -------------------------------------------------


def quotas(events: int, seed: int) -> list[int]:
    """Events per visitor: heavy-tailed (Pareto) shares of exactly ``events``,
    at least one each, independent of how the work is split."""
    count = max(1, events // EVENTS_PER_VISITOR)
    rng = random.Random(f"{seed}:quotas")
    weights = [min(rng.paretovariate(1.6), 60.0) for _ in range(count)]
    scale = (events - count) / sum(weights)
    result = [1 + int(w * scale) for w in weights]
    for k in range(events - sum(result)):
        result[k % count] += 1
    return result


def visitor_plans(
    events: int, seed: int, site_count: int
) -> list[tuple[VisitorPlan, int]]:
    """Every visitor's plan and share of the events; the same in every worker."""
    shares = quotas(events, seed)
    plans = plan_visitors(
        random.Random(f"{seed}:visitors"),
        len(shares),
        sites=site_count,
        anonymous_share=ANONYMOUS_SHARE,
        sessions=[max(1, round(q / EVENTS_PER_SESSION)) for q in shares],
    )
    for plan in plans:
        # One address each, so that anonymous visitors stay apart at any size.
        k = plan.index
        plan.ip = f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}"
    return list(zip(plans, shares, strict=True))


def visitor_batches(
    plan: VisitorPlan, quota: int, seed: int, site: Site
) -> Iterator[tuple[Batch, Meta]]:
    """The visitor's batches up to exactly ``quota`` events, the last one cut.

    Should its sessions hold fewer, it comes back for another round of them
    (without identifying again) until the quota is met.
    """
    now = NOW.replace(tzinfo=UTC)
    window = (now - timedelta(days=DAYS), now - LATEST_START)
    key, left = site_key(plan.site), quota
    for again in itertools.count():
        rng = random.Random(f"{seed}:visitor:{plan.index}:{again}")
        planned = replace(plan, identities={}) if again else plan
        for _, batch, meta in simulate_visitor(rng, planned, window, site):
            batch["s"] = key
            batch["e"] = batch["e"][:left]
            left -= len(batch["e"])
            yield batch, {**meta, "origin": site.origin}
            if left == 0:
                return


@dataclass
class Tally:
    """What a worker wrote; the generator promises these counts."""

    events: int = 0
    pageviews: int = 0
    clicks: int = 0
    identifies: int = 0
    stage_changes: int = 0
    visitors: int = 0

    def add(self, other: Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, batch: Batch) -> None:
        self.visitors += "o" in batch  # a shared browser's fresh visitor id
        kinds = [event["t"] for event in batch["e"]]
        self.pageviews += kinds.count("pv")
        self.clicks += kinds.count("c")
        self.identifies += kinds.count("id")


# --- writing -------------------------------------------------------------------


def write_share(
    url: str,
    events: int,
    seed: int,
    site_count: int,
    worker: int,
    workers: int,
    done=None,
) -> Tally:
    """Ingest the beacons of visitors ``k ≡ worker (mod workers)``; commit every
    :data:`BATCHES_PER_COMMIT` beacons. ``done`` (a shared counter) gets progress."""
    engine = make_engine(url)
    sites.forget()
    made = [made_up_site(seed, index) for index in range(site_count)]
    tally, reported = Tally(), 0

    def beacons() -> Iterator[tuple[Batch, Meta]]:
        for plan, quota in visitor_plans(events, seed, site_count):
            if plan.index % workers != worker:
                continue
            tally.visitors += 1
            for batch, meta in visitor_batches(plan, quota, seed, made[plan.site]):
                tally.count(batch)
                yield batch, meta

    def progress(_batches: int, stored: int) -> None:
        nonlocal reported
        if done is not None:
            with done.get_lock():
                done.value += stored - reported
        reported = stored

    with Session(engine) as session:
        tally.events = feed(
            session, beacons(), now=NOW, group=BATCHES_PER_COMMIT, progress=progress
        )
    engine.dispose()
    return tally


def _worker(args) -> Tally:
    return write_share(*args, done=_SHARED)


_SHARED = None


def _init(counter) -> None:
    global _SHARED
    _SHARED = counter


def generate(
    url: str,
    events: int,
    *,
    seed: int = 1,
    site_count: int = len(SITE_NAMES),
    workers: int = 1,
    log=print,
) -> Tally:
    """Migrate ``url``, create the sites and their catalog, write ``events``
    events through ingest and the CRM histories of the leads; the counts written."""
    upgrade(url)
    sites.forget()  # the look-up cache is per process, not per database
    engine = make_engine(url)
    with Session(engine) as session:
        if sites.lookup(session, site_key(0)) is not None:
            raise SystemExit("this database holds generated data: use a new one")
        store_catalog(session, seed, site_count)
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    jobs = [(url, events, seed, site_count, w, workers) for w in range(workers)]
    with context.Pool(workers, initializer=_init, initargs=(done,)) as pool:
        pending = pool.map_async(_worker, jobs)
        while not pending.ready():
            pending.wait(PROGRESS_SECONDS)
            log(_progress_line(done.value, events, time.monotonic() - started))
        tallies = pending.get()
    total = Tally()
    for tally in tallies:
        total.add(tally)
    with Session(engine) as session:
        for index in range(site_count):
            site = sites.lookup(session, site_key(index))
            total.stage_changes += seed_stages(session, site.id, seed=seed, now=NOW)
        session.commit()
    engine.dispose()
    seconds = time.monotonic() - started
    log(
        f"done: {total.events} events in {seconds:.1f} s = "
        f"{total.events / seconds:.0f} events/s ({workers} worker(s)); "
        f"{total.pageviews} page views, {total.clicks} clicks, "
        f"{total.visitors} visitors, {total.identifies} leads, "
        f"{total.stage_changes} stage changes"
    )
    return total


def _progress_line(done: int, total: int, seconds: float) -> str:
    rate = done / seconds if seconds else 0.0
    eta = (total - done) / rate if rate else float("inf")
    eta_text = f"{eta:.0f} s" if math.isfinite(eta) else "?"
    return f"{done} / {total} events  {rate:.0f} events/s  eta {eta_text}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", type=int, help="how many events to write")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=len(SITE_NAMES))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--replicate",
        type=int,
        metavar="K",
        help="instead of generating, make the existing data K times as big in SQL",
    )
    parser.add_argument(
        "--held",
        type=int,
        default=1,
        metavar="H",
        help="with --replicate: the database holds H copies already (a stopped run)",
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    if args.replicate:
        replicate(args.database_url, args.replicate, held=args.held)
        analyze(args.database_url)
        return
    if not 1 <= args.sites <= len(SITE_NAMES):
        parser.error(f"--sites must be 1 to {len(SITE_NAMES)}")
    generate(
        args.database_url,
        args.events,
        seed=args.seed,
        site_count=args.sites,
        workers=max(1, args.workers),
        log=lambda line: print(line, flush=True),
    )
    analyze(args.database_url)


if __name__ == "__main__":
    main()
