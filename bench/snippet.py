"""Snippet benchmark: main-thread cost of /r.js and /r2.js in headless Chromium.

The real app (in-process, over a fresh SQLite file) serves a long demo article.
A scripted session of ``--duration`` seconds reads it: mouse moves, wheel
scrolls, clicks on paragraphs, the tab hidden for a moment and shown again
(document.visibilityState overridden and visibilitychange dispatched, the
events a real tab switch fires). The same session runs twice in the same
browser: once with the snippet, once with /r.js answered by an empty script
(the baseline: same page, same actions). For each run it records:

- the CDP sampling profiler (100 µs interval): main-thread time whose stack
  holds a frame of r.js or r2.js is the snippet's (its own code and the browser
  work it calls, such as layout reads and JSON.stringify); the longest run of
  consecutive snippet samples bounds its longest task;
- PerformanceObserver "longtask" entries (tasks over 50 ms) of the page;
- the batches the collector stored.

    python bench/snippet.py --duration 10

It prints the figures and the targets: no long task caused by the snippet,
< 2 ms of snippet main-thread time per second of session, each file within its
gzip budget (static/js/build.sh: r.js 3,200 B, r2.js 2,048 B). ``--json`` prints
one JSON object instead (the smoke test reads it).
Absolute numbers are noisy on shared machines: compare with the baseline of the
same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resonance.app import create_app  # noqa: E402
from resonance.core.engine import upgrade  # noqa: E402
from resonance.core.models import Click, PageView  # noqa: E402
from tracker.sites import create_site  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
ARTICLE = "/demo/blog/what-sales-wishes-marketing-knew"
SNIPPET_FILES = ("r.js", "r2.js")
BUILDS = {"r.js": "r.min.js", "r2.js": "r2.min.js"}
SAMPLING_US = 100
LONG_TASK_MS = 50
BUDGET_MS_PER_S = 2.0
BUDGET_GZ = {"r.js": 3200, "r2.js": 2048}  # as static/js/build.sh checks them
SETTLE_MS = 1500

# Long tasks of the page, from its very start (the observer is installed before
# any script of the page runs).
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: 'longtask', buffered: true });
"""

# A paragraph in view, to click on (never a link: the session stays on the page).
PARAGRAPH_IN_VIEW = """() => {
  for (const p of document.querySelectorAll('main p, article p, p')) {
    const box = p.getBoundingClientRect();
    if (box.top > 40 && box.bottom < innerHeight - 40 && box.width > 100)
      return [box.x + box.width / 3, box.top + box.height / 2];
  }
  return null;
}"""

VISIBILITY = """(hidden) => {
  for (const [name, value] of [['hidden', hidden],
      ['visibilityState', hidden ? 'hidden' : 'visible']])
    Object.defineProperty(document, name, { value, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@dataclass(frozen=True)
class Phase:
    """Main-thread figures of one phase of a session, from its CDP profile."""

    seconds: float
    busy_ms: float  # samples that were not idle
    snippet_ms: float  # samples with an r.js / r2.js frame on the stack
    snippet_longest_ms: float  # longest run of consecutive snippet samples

    @property
    def snippet_ms_per_s(self) -> float:
        return self.snippet_ms / self.seconds


@dataclass(frozen=True)
class Run:
    """One session: loading (until the page settled and the extension is in)
    and the scripted activity; long tasks over the whole session."""

    load: Phase
    activity: Phase
    long_tasks: list[float]


def serve_app(tmp: Path) -> tuple[str, object]:
    """The real app on 127.0.0.1 over a fresh SQLite file; (base URL, server)."""
    from werkzeug.serving import make_server

    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    engine = create_engine(url)
    with Session(engine) as session:
        create_site(session, "Demo", origins=[base], privacy_mode="always", key="demo")
        session.commit()
    engine.dispose()
    return base, server


def stored(url: str) -> tuple[int, int]:
    """(page views, clicks) the collector stored."""
    engine = create_engine(url)
    with Session(engine) as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (PageView, Click)
        )
    engine.dispose()
    return counts


def snippet_samples(profile: dict) -> tuple[float, float, float]:
    """(busy ms, snippet ms, longest snippet stretch ms) of a CDP profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {
        child: node["id"]
        for node in profile["nodes"]
        for child in node.get("children", [])
    }

    def in_snippet(node_id: int) -> bool:
        while node_id is not None:
            url = nodes[node_id]["callFrame"]["url"]
            if url.rsplit("/", 1)[-1] in SNIPPET_FILES:
                return True
            node_id = parent.get(node_id)
        return False

    memo: dict[int, bool] = {}
    busy = snippet = longest = stretch = 0.0
    # timeDeltas[i] is the time from the previous sample to sample i: the time
    # sample i stands for is the next delta.
    deltas = profile["timeDeltas"][1:] + [SAMPLING_US]
    for node_id, delta in zip(profile["samples"], deltas, strict=True):
        name = nodes[node_id]["callFrame"]["functionName"]
        if name != "(idle)":
            busy += delta
        if node_id not in memo:
            memo[node_id] = in_snippet(node_id)
        if memo[node_id]:
            snippet += delta
            stretch += delta
            longest = max(longest, stretch)
        else:
            stretch = 0.0
    return busy / 1000, snippet / 1000, longest / 1000


def profiled(cdp, action) -> Phase:
    """Run ``action`` under the sampling profiler."""
    cdp.send("Profiler.start")
    started = time.monotonic()
    action()
    seconds = time.monotonic() - started
    profile = cdp.send("Profiler.stop")["profile"]
    return Phase(seconds, *snippet_samples(profile))


def activity(page, seconds: float) -> None:
    """Read for ``seconds``: move, scroll, click paragraphs, hide the tab once."""
    started = time.monotonic()
    step = 0
    while (elapsed := time.monotonic() - started) < seconds:
        page.mouse.move(300 + 40 * (step % 10), 300 + 20 * (step % 7), steps=4)
        if step % 6 == 5:
            point = page.evaluate(PARAGRAPH_IN_VIEW)
            if point:
                page.mouse.click(*point)
        else:
            page.mouse.wheel(0, 240)
        # The tab hidden at 40 % of the session for half a second.
        if step == int(seconds * 0.4 / 0.25):
            page.evaluate(VISIBILITY, True)
            page.wait_for_timeout(500)
            page.evaluate(VISIBILITY, False)
        step += 1
        page.wait_for_timeout(max(0, min(250, (seconds - elapsed) * 1000)))


def session(browser, base: str, seconds: float, with_snippet: bool) -> Run:
    """The scripted reading session; the page's main-thread figures."""
    context = browser.new_context(
        user_agent=USER_AGENT, viewport={"width": 1280, "height": 800}
    )
    if not with_snippet:
        context.route(
            "**/r.js",
            lambda route: route.fulfill(body="", content_type="text/javascript"),
        )
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": SAMPLING_US})

    def load() -> None:
        page.goto(base + ARTICLE, wait_until="load")
        page.wait_for_timeout(SETTLE_MS)  # the first tick imports the extension

    loading = profiled(cdp, load)
    reading = profiled(cdp, lambda: activity(page, seconds))
    long_tasks = page.evaluate("window.__longTasks")
    page.goto("about:blank")  # pagehide: the last batches
    context.close()
    return Run(loading, reading, long_tasks)


def gzipped_sizes() -> dict[str, int]:
    folder = ROOT / "static" / "js"
    return {
        name: len(gzip.compress((folder / build).read_bytes(), compresslevel=9))
        for name, build in BUILDS.items()
    }


def measure(seconds: float, rounds: int) -> dict:
    """``rounds`` pairs of sessions, baseline and snippet taking turns."""
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[Run]] = {"baseline": [], "snippet": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        base, server = serve_app(Path(tmp))
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", f"--user-agent={USER_AGENT}"],
        )
        try:
            for _ in range(rounds):
                runs["baseline"].append(session(browser, base, seconds, False))
                runs["snippet"].append(session(browser, base, seconds, True))
            time.sleep(0.5)  # the last pagehide batches
            views, clicks = stored(f"sqlite:///{Path(tmp) / 'bench.db'}")
        finally:
            browser.close()
            server.shutdown()
    return {
        "rounds": rounds,
        "runs": {name: [asdict(run) for run in found] for name, found in runs.items()},
        "summary": {name: summary(found) for name, found in runs.items()},
        "stored": {"page_views": views, "clicks": clicks},
        "gzip_bytes": gzipped_sizes(),
    }


def summary(runs: list[Run]) -> dict:
    """Medians over the rounds; the longest snippet stretch and the long tasks
    over all of them."""
    return {
        "load_busy_ms": median(r.load.busy_ms for r in runs),
        "load_snippet_ms": median(r.load.snippet_ms for r in runs),
        "activity_seconds": median(r.activity.seconds for r in runs),
        "activity_busy_ms": median(r.activity.busy_ms for r in runs),
        "activity_snippet_ms": median(r.activity.snippet_ms for r in runs),
        "activity_snippet_ms_per_s": median(r.activity.snippet_ms_per_s for r in runs),
        "load_longest_ms": max(r.load.snippet_longest_ms for r in runs),
        "activity_longest_ms": max(r.activity.snippet_longest_ms for r in runs),
        "long_tasks": sum(len(r.long_tasks) for r in runs),
        "long_task_ms": round(sum(sum(r.long_tasks) for r in runs), 1),
    }


def report(result: dict) -> None:
    base, run = result["summary"]["baseline"], result["summary"]["snippet"]
    sizes = result["gzip_bytes"]
    print(
        f"{ARTICLE}: load + {SETTLE_MS} ms, then {run['activity_seconds']:.1f} s of "
        f"scripted reading; {result['rounds']} rounds (medians; longest and long "
        f"tasks over all rounds); CDP samples every {SAMPLING_US} µs"
    )
    print(
        f"{'':<9} {'load busy':>9} {'snippet':>8} {'longest':>8} | "
        f"{'read busy':>9} {'snippet':>8} {'ms/s':>5} {'longest':>8} | long tasks"
    )
    for name, f in (("baseline", base), ("snippet", run)):
        print(
            f"{name:<9} {f['load_busy_ms']:>9.1f} {f['load_snippet_ms']:>8.1f} "
            f"{f['load_longest_ms']:>8.1f} | {f['activity_busy_ms']:>9.1f} "
            f"{f['activity_snippet_ms']:>8.1f} {f['activity_snippet_ms_per_s']:>5.2f} "
            f"{f['activity_longest_ms']:>8.1f} | "
            f"{f['long_tasks']} ({f['long_task_ms']} ms)"
        )
    print(
        "gzip -9: "
        + ", ".join(f"{name} {size} B" for name, size in sizes.items())
        + " (limits "
        + ", ".join(f"{name} {limit} B" for name, limit in BUDGET_GZ.items())
        + ")"
    )
    print(
        f"stored: {result['stored']['page_views']} page views, "
        f"{result['stored']['clicks']} clicks"
    )
    longest = max(run["load_longest_ms"], run["activity_longest_ms"])
    verdicts = {
        f"< {BUDGET_MS_PER_S:g} ms/s while reading": run["activity_snippet_ms_per_s"]
        < BUDGET_MS_PER_S,
        f"no snippet task over {LONG_TASK_MS} ms": longest < LONG_TASK_MS,
        "within the gzip budgets": all(
            size <= BUDGET_GZ[name] for name, size in sizes.items()
        ),
    }
    print(
        "targets: "
        + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in verdicts.items())
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log
    result = measure(args.duration, args.rounds)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
