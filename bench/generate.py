"""Synthetic load for scale work: N realistic events through the real collector.

    python bench/generate.py 1000000 --workers 2      # into $DATABASE_URL

Writes exactly N events (page views, layouts, clicks with rage bursts and dead
clicks, scroll, attention, identify calls) for several sites, hundreds of content
items with crawled sections, and thousands of visitors, a share of whom identify
and then get a CRM profile and a lifecycle-stage history through ``tracker.crm``.
Every event goes through ``tracker.ingest.ingest_many`` (the one writer of events,
the collector's group path), one page view per beacon (the page view with its
layout, clicks, scroll and attention), 200 beacons per group and transaction.

Reproducible: visitor ``k`` draws everything from ``Random(f"{seed}:{k}")`` and the
clock is a fixed ``--now``, so the same N and seed give the same rows whatever the
number of workers. ``--workers W`` splits the visitors over W processes (visitor k
goes to worker k mod W); PostgreSQL writes in parallel, SQLite serialises writers,
so one worker is its best setting.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from resonance.db import make_engine, upgrade  # noqa: E402
from tracker import crm, sites  # noqa: E402
from tracker.catalog import PageOutline, Section, store_outline  # noqa: E402
from tracker.ingest import RequestMeta, ingest_many  # noqa: E402

NOW = datetime(2026, 11, 1)
DAYS = 90
SITE_NAMES = ("Northwind", "Contoso", "Fabrikam")
ITEMS_PER_SITE = 120
EVENTS_PER_VISITOR = 60  # on average; heavy-tailed (a few visitors read a lot)
LEAD_SHARE = 0.15
ANONYMOUS_SHARE = 0.1
INTERNAL_SHARE = 0.01
BATCHES_PER_COMMIT = 200
PROGRESS_SECONDS = 5.0
KINDS = ("blog", "docs", "guides", "product")
WORDS = (
    "pipeline revenue content audit scoring funnel intent signal onboarding "
    "pricing security migration analytics attribution playbook campaign "
    "retention churn forecast workflow integration webhook dashboard segment "
    "handoff quota territory renewal expansion pilot rollout governance"
).split()
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead")
LATE_STAGES = ("opportunity", "customer")
OWNERS = ("Dana Whitfield", "Marcus Oyelaran", "Priya Raman", "Lena Vogel")
DEVICES = (("desktop", 1440, 900, 0.55), ("mobile", 390, 844, 0.35))
DEVICES += (("tablet", 820, 1180, 0.10),)
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
)


# --- the sites' content --------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """A clickable element of a page, its box at 1440 px wide (page px)."""

    selector: str
    tag: str
    text: str
    href: str | None
    interactive: bool
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Page:
    """A content item: URL, sections (level, heading, top, height, words)."""

    site_key: str
    url: str
    title: str
    doc_h: int
    sections: tuple[tuple[int, str, int, int, int], ...]
    elements: tuple[Element, ...]


def site_key(index: int) -> str:
    return f"scale-{SITE_NAMES[index].lower()}"


def origin(index: int) -> str:
    return f"https://www.{SITE_NAMES[index].lower()}.example"


def site_pages(seed: int, index: int) -> list[Page]:
    """The content items of site ``index``, most popular first."""
    rng = random.Random(f"{seed}:site:{index}")
    return [_page(rng, index, item) for item in range(ITEMS_PER_SITE)]


def _page(rng: random.Random, site: int, item: int) -> Page:
    words = rng.sample(WORDS, 3)
    slug = "-".join(words)  # no digits: URL hygiene redacts letter-digit tokens
    title = " ".join(words).capitalize() + f" ({item})"
    top, sections = 620, []
    for idx in range(rng.randint(4, 12)):
        level = 1 if idx == 0 else rng.choice((2, 2, 2, 3))
        count = rng.randint(60, 520)
        height = 120 + count * 2
        heading = " ".join(rng.sample(WORDS, 2)).capitalize()
        sections.append((level, f"{heading} {idx}", top, height, count))
        top += height
    doc_h = top + 700
    return Page(
        site_key=site_key(site),
        url=f"{origin(site)}/{KINDS[item % len(KINDS)]}/{item}/{slug}",
        title=title,
        doc_h=doc_h,
        sections=tuple(sections),
        elements=tuple(_elements(rng, sections, doc_h)),
    )


def _elements(rng: random.Random, sections, doc_h: int) -> Iterator[Element]:
    """Navigation, a call to action, per-section text, images and links, footer."""
    for n in range(1, 6):
        yield Element(f"nav a:nth-of-type({n})", "a", f"Menu {n}", f"/m{n}", True,
                      (200 + 150 * n, 20, 110, 40))  # fmt: skip
    yield Element("#cta", "button", "Book a demo", None, True, (560, 420, 320, 64))
    for idx, (_, _, top, height, _) in enumerate(sections):
        base = f"main section:nth-of-type({idx + 1})"
        yield Element(f"{base} > p", "p", "", None, False,
                      (320, top + 60, 800, max(40, height - 140)))  # fmt: skip
        if rng.random() < 0.6:
            yield Element(f'img[data-x="fig-{idx}"]', "img", "", None, False,
                          (420, top + height - 80, 600, 60))  # fmt: skip
        if rng.random() < 0.5:
            yield Element(f"{base} a", "a", "Read more", f"/more/{idx}", True,
                          (330, top + 30, 140, 24))  # fmt: skip
    footer = (600, doc_h - 200, 90, 24)
    yield Element("footer a", "a", "Contact", "/contact", True, footer)


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
        for page in site_pages(seed, index):
            outline = PageOutline(
                url=page.url,
                canonical_url=page.url,
                title=page.title,
                words=sum(s[4] for s in page.sections),
                sections=tuple(Section(s[0], s[1], s[4]) for s in page.sections),
            )
            store_outline(session, site.id, outline, NOW - timedelta(days=DAYS))
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


@dataclass
class Visitor:
    """One browser of the plan, and the beacons it sends."""

    k: int
    quota: int
    seed: int
    site_count: int
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:visitor:{self.k}")


def visitor_beacons(
    visitor: Visitor, pages: dict[int, list[Page]]
) -> Iterator[tuple[dict, RequestMeta, str | None]]:
    """Every beacon of a visitor: one page view with its events per beacon, the
    last one cut to what is left of the quota. Yields (batch, meta, e-mail sent)."""
    rng = visitor.rng
    site = rng.randrange(visitor.site_count)
    device, vw, vh, _ = rng.choices(DEVICES, [d[3] for d in DEVICES])[0]
    anonymous = rng.random() < ANONYMOUS_SHARE
    email = None if anonymous or rng.random() >= LEAD_SHARE else _email(visitor.k, rng)
    meta = RequestMeta(
        ip=f"10.{visitor.k >> 16 & 255}.{visitor.k >> 8 & 255}.{visitor.k & 255}",
        user_agent=rng.choice(USER_AGENTS),
        origin=origin(site),
    )
    head = {"s": site_key(site)}
    if not anonymous:
        head["v"] = f"visitor{visitor.k:09d}"
    if rng.random() < INTERNAL_SHARE:
        head["i"] = 1
    left, counter, identify_at = visitor.quota, 0, rng.randint(0, 3)
    for number, at in enumerate(_moments(rng)):
        page = pages[site][_popular(rng)]
        sent = email if number == identify_at else None
        events = _pageview_events(rng, visitor.k, counter, page, vw, vh, at, sent)
        events = events[:left]
        counter += len(events)
        left -= len(events)
        sent = sent if any(e["t"] == "id" for e in events) else None
        yield {**head, "e": events}, meta, sent
        if left <= 0:
            return


def _email(k: int, rng: random.Random) -> str:
    company = rng.choice(("acme", "globex", "initech", "umbrella", "hooli", "vandelay"))
    return f"{rng.choice(WORDS)}.{rng.choice(WORDS)}{k}@{company}.example"


def _popular(rng: random.Random) -> int:
    """A content item index, Zipf-like: a few items get most views."""
    return min(int(ITEMS_PER_SITE ** rng.random()) - 1, ITEMS_PER_SITE - 1)


def _moments(rng: random.Random) -> Iterator[datetime]:
    """Page-view times, endless (the quota stops it): sessions of 1–5 views a
    few minutes apart, sessions hours or days apart, all within the period."""
    at = NOW - timedelta(days=DAYS * rng.random())
    while True:
        for _ in range(rng.randint(1, 5)):
            yield min(at, NOW - timedelta(minutes=30))
            at += timedelta(seconds=rng.randint(40, 600))
        at += timedelta(hours=rng.expovariate(1 / 60))
        if at >= NOW:  # wrap round: the visitor came back earlier instead
            at = NOW - timedelta(days=DAYS * rng.random())


def _ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * 1000)


def _pageview_events(
    rng: random.Random,
    k: int,
    counter: int,
    page: Page,
    vw: int,
    vh: int,
    at: datetime,
    email: str | None,
) -> list[dict]:
    """One page view as the snippet reports it: pv, layout, clicks (with rage
    bursts and dead clicks), scroll, attention and perhaps identify."""
    ids = (f"v{k:07d}e{counter + n:06d}" for n in range(10_000))
    pv = next(ids)
    t0 = _ms(at)
    depth = min(page.doc_h, int(vh + rng.betavariate(1.2, 1.4) * page.doc_h))
    events: list[dict] = [
        {
            "t": "pv",
            "id": pv,
            "p": pv,
            "ts": t0,
            "u": page.url,
            "ti": page.title,
            "vw": vw,
            "vh": vh,
            "dh": page.doc_h,
            "r": _referrer(rng),
        },  # fmt: skip
        {
            "t": "l",
            "id": next(ids),
            "p": pv,
            "ts": t0 + 300,
            "sec": [[s[0], s[1], s[2], s[3]] for s in page.sections],
        },  # fmt: skip
    ]
    t = t0 + 1000
    for _ in range(int(rng.expovariate(1 / 2.5))):
        t += rng.randint(1500, 20000)
        element = rng.choice([e for e in page.elements if e.box[1] < depth])
        burst = rng.randint(3, 6) if rng.random() < 0.08 else 1
        for click in _clicks(rng, element, vw, t, burst):
            events.append({**click, "id": next(ids), "p": pv})
            t = click["ts"]
    reached = [i for i, s in enumerate(page.sections) if s[2] < depth]
    active = rng.randint(2000, 20000) + sum(rng.randint(0, s[4] * 200) for s in
                                            page.sections if s[2] < depth)  # fmt: skip
    share = [[i, rng.randint(500, 1 + active // max(1, len(reached)))] for i in reached]
    events += [
        {
            "t": "s",
            "id": next(ids),
            "p": pv,
            "ts": t + 500,
            "d": depth,
            "dh": page.doc_h,
        },  # fmt: skip
        {"t": "a", "id": next(ids), "p": pv, "ts": t + 600, "ms": active, "a": share},
    ]
    if email:
        events.append({"t": "id", "id": next(ids), "p": pv, "ts": t + 700, "em": email})
    return events


def _referrer(rng: random.Random) -> str | None:
    return rng.choice((None, None, "https://www.google.com/", "https://t.co/x1"))


def _clicks(rng, element: Element, vw: int, t: int, burst: int) -> Iterator[dict]:
    """One click, or a rage burst: ``burst`` clicks < 1 s and a few px apart."""
    left, top, width, height = element.box
    scale = min(1.0, vw / 1440)
    fx, fy = rng.random(), rng.random()
    for n in range(burst):
        jx, jy = (rng.uniform(-0.02, 0.02) if n else 0 for _ in range(2))
        cfx, cfy = min(1, max(0, fx + jx)), min(1, max(0, fy + jy))
        dead = not element.interactive and rng.random() < 0.4
        yield {
            "t": "c", "ts": t + n * rng.randint(120, 350),
            "x": int((left + cfx * width) * scale), "y": int(top + cfy * height),
            "vw": vw, "s": element.selector, "fx": round(cfx, 4),
            "fy": round(cfy, 4), "tg": element.tag, "tx": element.text,
            "h": element.href, "in": element.interactive, "dd": dead,
            "er": rng.random() < 0.01,
        }  # fmt: skip


def stage_history(
    session: Session, visitor: Visitor, site_id: int, email: str, first: datetime
) -> int:
    """A CRM profile and stage history for an identified visitor (through
    ``tracker.crm``, as the CRM API would); the number of stage changes.

    Its own random stream: it runs when the visitor's beacons are flushed, which
    may fall between two of that visitor's beacons depending on how visitors are
    split over workers, so sharing the beacons' stream made rows differ by W."""
    rng = random.Random(f"{visitor.seed}:crm:{visitor.k}")
    lead = crm.upsert_lead(
        session,
        site_id,
        email=email,
        name=email.split("@")[0].replace(".", " ").title(),
        company=email.split("@")[1].split(".")[0].title(),
        owner=rng.choice(OWNERS),
        now=first,
    ).lead
    path = list(STAGES[: rng.randint(1, len(STAGES))])
    if len(path) == len(STAGES):
        path += LATE_STAGES[: rng.randint(0, len(LATE_STAGES))]
    elif rng.random() < 0.1:
        path.append("unqualified")
    moment = first
    for step, stage in enumerate(path):
        moment = min(moment + timedelta(hours=rng.uniform(2, 24 * 10)), NOW)
        crm.record_stage_change(
            session,
            site_id,
            lead.id,
            stage_raw=stage,
            entered_at=moment,
            crm_event_id=f"scale-{visitor.k}-{step}",
            now=NOW,
            recompute=False,
        )
    return len(path)


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
    pages = {i: site_pages(seed, i) for i in range(site_count)}
    tally, pending = Tally(), 0
    with Session(engine) as session:
        site_ids = {
            site_key(i): sites.lookup(session, site_key(i)).id
            for i in range(site_count)
        }
        beacons: list[tuple[dict, RequestMeta, str | None, Visitor]] = []

        def flush() -> None:
            """Ingest the waiting beacons as one group (the collector's fast
            path), then give the identified visitors their CRM history."""
            nonlocal pending
            bodies = [
                (json.dumps(b, separators=(",", ":")).encode(), meta, NOW)
                for b, meta, _, _ in beacons
            ]
            for (batch, _, email, visitor), stored in zip(
                beacons, ingest_many(session, bodies), strict=True
            ):
                if isinstance(stored, Exception):
                    raise stored
                tally.events += stored
                tally.pageviews += batch["e"][0]["t"] == "pv"
                tally.clicks += sum(e["t"] == "c" for e in batch["e"])
                pending += stored
                if email:
                    tally.identifies += 1
                    ts = next(e["ts"] for e in batch["e"] if e["t"] == "id")
                    first = datetime(1970, 1, 1) + timedelta(milliseconds=ts)
                    tally.stage_changes += stage_history(
                        session, visitor, site_ids[batch["s"]], email, first
                    )
            session.commit()
            beacons.clear()
            pending = _report(done, pending)

        for k, quota in enumerate(quotas(events, seed)):
            if k % workers != worker:
                continue
            visitor = Visitor(k, quota, seed, site_count)
            tally.visitors += 1
            for batch, meta, email in visitor_beacons(visitor, pages):
                beacons.append((batch, meta, email, visitor))
                if len(beacons) == BATCHES_PER_COMMIT:
                    flush()
        flush()
    engine.dispose()
    return tally


def _report(done, pending: int) -> int:
    if done is not None:
        with done.get_lock():
            done.value += pending
    return 0


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
    with Session(engine) as session:
        for index in range(site_count):
            site = sites.lookup(session, site_key(index))
            crm.recompute_stages(session, site.id)
        session.commit()
    engine.dispose()
    total = Tally()
    for tally in tallies:
        total.add(tally)
    seconds = time.monotonic() - started
    log(
        f"done: {total.events} events in {seconds:.1f} s = "
        f"{total.events / seconds:.0f} events/s ({workers} worker(s)); "
        f"{total.pageviews} page views, {total.clicks} clicks, "
        f"{total.visitors} visitors, {total.identifies} leads, "
        f"{total.stage_changes} stage changes"
    )
    return total


# --- replication ---------------------------------------------------------------

# The tables replicate() copies, in foreign-key order, with the id columns to
# shift (by that table's offset) and the unique text columns to suffix.
_COPIED = (
    ("visitors", {"id": "visitors"}, ("uid",)),
    ("visit_sessions", {"id": "visit_sessions", "visitor_id": "visitors"}, ()),
    (
        "pageviews",
        {"id": "pageviews", "visitor_id": "visitors", "session_id": "visit_sessions"},
        ("event_id",),
    ),
    ("clicks", {"id": "clicks", "pageview_id": "pageviews"}, ("event_id",)),
    ("page_sections", {"pageview_id": "pageviews"}, ()),
    ("leads", {"id": "leads"}, ("email", "crm_id")),
    (
        "identifies",
        {"id": "identifies", "visitor_id": "visitors", "pageview_id": "pageviews"},
        ("event_id", "email"),
    ),
    ("identity_links", {"visitor_id": "visitors", "lead_id": "leads"}, ()),
    ("stage_changes", {"id": "stage_changes", "lead_id": "leads"}, ("crm_event_id",)),
)


def replicate(url: str, times: int, log=print) -> None:
    """Make the database ``times`` as big by copying its visitors with all their
    events, leads and stage histories ``times - 1`` times, in SQL.

    For dashboard timings at sizes that ingest cannot reach in the time at hand:
    the copies keep the distributions (same content items, same moments) of data
    that went through ingest once. Ids are shifted by the table's maximum id,
    unique text gets a ``~r<copy>`` suffix (e-mails: before the ``@``).
    """
    from sqlalchemy import MetaData, func, insert, literal, select, text

    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=[name for name, _, _ in _COPIED])
    with engine.begin() as connection:
        # The originals are the rows up to each table's maximum id now.
        top = {
            name: connection.scalar(select(func.max(meta.tables[name].c.id))) or 0
            for name, shifts, _ in _COPIED
            if "id" in shifts
        }
        for copy in range(1, times):
            for name, shifts, suffixed in _COPIED:
                table = meta.tables[name]
                columns = []
                for column in table.c:
                    if column.name in shifts:
                        columns.append(column + copy * top[shifts[column.name]])
                    elif column.name == "email":
                        columns.append(func.replace(column, "@", f"~r{copy}@"))
                    elif column.name in suffixed:
                        columns.append(column + literal(f"~r{copy}"))
                    else:
                        columns.append(column)
                key, target = next(iter(shifts.items()))
                originals = select(*columns).where(table.c[key] <= top[target])
                connection.execute(
                    insert(table).from_select([c.name for c in table.c], originals)
                )
            log(f"copy {copy + 1} of {times} done")
        if engine.dialect.name == "postgresql":
            for name in top:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    engine.dispose()


def analyze(url: str) -> None:
    """Give PostgreSQL's planner statistics of the tables just filled.

    Autovacuum gathers them some minutes after a bulk load; timings taken before
    it did measure plans made blind (the content list at 1 M events: 4.7 s
    without, 0.36 s with). SQLite gets none: its planner chose a slower plan for
    the content list with ``ANALYZE`` statistics (1.3 s against 0.46 s), and the
    app never gathers them either.
    """
    from sqlalchemy import text

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


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
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    if args.replicate:
        replicate(args.database_url, args.replicate)
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
