"""A fake collector for the tracking snippet's browser tests.

It serves the built snippet at /r.js and its extension at /r2.js (or not, to
show the core works without it), answers the privacy-mode request GET /e?s=...
and records every POST /e batch. The HTML fixtures in tests/snippet_pages/ are
served by a second server on another port, so the snippet runs cross-origin, as
on a customer's site. Test modules wrap :func:`serve`, :func:`launch` and
:func:`run` in fixtures of their own; :func:`run` checks, after each test, that
the snippet threw nothing into the page and that every batch it sent is one the
collector takes (docs/beacon.md, restated here on its own).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "static" / "js"
BUILD = JS / "r.min.js"
EXTENSION = JS / "r2.min.js"
PAGES = Path(__file__).resolve().parent / "snippet_pages"
CHROMIUM = Path("/usr/bin/chromium")
# The collector drops HeadlessChrome as a bot: look like a desktop Chrome.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
VIEWPORT = {"width": 1280, "height": 800}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# The collector's rule for an e-mail address (trimmed first).
EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
EVENT_KEYS = {"t", "id", "ts", "p"}
PV_KEYS = EVENT_KEYS | {"u", "r", "ti", "vw", "vh", "dh"}
CLICK_KEYS = EVENT_KEYS | {"x", "y", "vw", "s", "fx", "fy", "tg", "tx", "h", "in"}
MAX_BODY = 60_000  # the snippet's own limit; the collector refuses over 64 KiB

# docs/beacon.md, key by key: (required, optional) keys of each event type.
EVENT_TYPES = {
    "pv": ({"u", "ti", "vw", "vh", "dh"}, {"r"}),
    "c": ({"x", "y", "vw", "s", "fx", "fy", "tg", "in"}, {"tx", "h", "dd", "er"}),
    "s": ({"d", "dh"}, set()),  # (the collector computes d / dh)
    "l": ({"sec"}, set()),
    "a": ({"ms", "a"}, {"b"}),
    "id": ({"em"}, {"nm", "co"}),
}


def is_int(value: object, high: int) -> bool:
    return type(value) is int and 0 <= value <= high


def is_str(value: object, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def is_fraction(value: object) -> bool:
    return type(value) in (int, float) and 0 <= value <= 1


def assert_valid_event(e: dict) -> None:
    required, optional = EVENT_TYPES[e["t"]]
    assert required <= set(e) - EVENT_KEYS <= required | optional, e
    assert ID_RE.match(e["id"]) and ID_RE.match(e["p"]) and is_int(e["ts"], 2**53)
    if e["t"] == "pv":
        assert e["id"] == e["p"]
        assert is_str(e["u"], 0, 2000) and is_str(e.get("r", ""), 0, 2000)
        assert is_str(e["ti"], 0, 1024) and is_int(e["dh"], 10**6)
        assert is_int(e["vw"], 10**5) and is_int(e["vh"], 10**5)
    elif e["t"] == "c":
        assert is_int(e["x"], 10**6) and is_int(e["y"], 10**6)
        assert is_int(e["vw"], 10**5) and is_str(e["s"], 1, 512)
        assert is_fraction(e["fx"]) and is_fraction(e["fy"])
        assert is_str(e["tg"], 1, 16) and e["tg"] == e["tg"].lower()
        assert is_str(e.get("tx", ""), 0, 60) and is_str(e.get("h", ""), 0, 2000)
        assert type(e["in"]) is bool
        assert e.get("dd", True) is True and e.get("er", True) is True
    elif e["t"] == "s":
        assert is_int(e["d"], 10**6) and is_int(e["dh"], 10**6)
    elif e["t"] == "l":
        assert 1 <= len(e["sec"]) <= 200
        for level, heading, top, height in e["sec"]:
            assert level in (1, 2, 3) and is_str(heading, 0, 200)
            assert is_int(top, 10**6) and is_int(height, 10**6)
    elif e["t"] == "a":
        assert is_int(e["ms"], 86_400_000) and len(e["a"]) <= 200
        assert all(is_int(i, 199) and is_int(ms, e["ms"]) for i, ms in e["a"])
        assert len(e.get("b", [])) <= 1000
        assert all(is_int(i, 999) and is_int(ms, e["ms"]) for i, ms in e.get("b", []))
    else:
        assert is_str(e["em"], 1, 254) and EMAIL_RE.match(e["em"].strip()), e
        assert is_str(e.get("nm", "x"), 1, 200) and is_str(e.get("co", "x"), 1, 200)


def assert_valid_batch(batch: dict) -> None:
    """What the collector accepts, per docs/beacon.md."""
    assert {"s", "e"} <= set(batch) <= {"s", "v", "o", "i", "e"}, batch
    assert is_str(batch["s"], 1, 64)
    assert "v" not in batch or ID_RE.match(batch["v"])
    assert "o" not in batch or (ID_RE.match(batch["o"]) and batch["o"] != batch["v"])
    assert batch.get("i", 1) == 1
    assert 1 <= len(batch["e"]) <= 500
    for e in batch["e"]:
        assert_valid_event(e)


class Capture:
    """What the fake collector saw, shared by both server threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "always"
        self.extension = True  # serve /r2.js
        self.batches: list[dict] = []
        self.content_types: list[str] = []
        self.body_sizes: list[int] = []
        self.mode_requests: list[str] = []

    def reset(self, mode: str, extension: bool = True) -> None:
        with self.lock:
            self.mode = mode
            self.extension = extension
            self.batches.clear()
            self.content_types.clear()
            self.body_sizes.clear()
            self.mode_requests.clear()

    def events(self, t: str | None = None) -> list[dict]:
        with self.lock:
            events = [e for batch in self.batches for e in batch["e"]]
        return [e for e in events if t is None or e["t"] == t]

    def wait_for(self, check: Callable[[], object], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; batches so far: {self.batches}")
            time.sleep(0.05)


def make_handler(capture: Capture, collector: list[str]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def reply(self, status: int, body: bytes = b"", ctype: str = "") -> None:
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", "*")
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/r.js":
                self.reply(200, BUILD.read_bytes(), "application/javascript")
            elif url.path == "/r2.js" and capture.extension:
                self.reply(200, EXTENSION.read_bytes(), "text/javascript")
            elif url.path == "/e":
                site = parse_qs(url.query).get("s", [""])[0]
                with capture.lock:
                    capture.mode_requests.append(site)
                    mode = capture.mode
                body = json.dumps({"m": mode}).encode()
                self.reply(200, body, "application/json")
            elif (page := PAGES / url.path.lstrip("/")).is_file():
                html = page.read_text().replace("{{COLLECTOR}}", collector[0])
                self.reply(200, html.encode(), "text/html; charset=utf-8")
            else:
                self.reply(404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if urlsplit(self.path).path != "/e":
                self.reply(404)
                return
            with capture.lock:
                capture.batches.append(json.loads(body))
                capture.content_types.append(self.headers.get("Content-Type", ""))
                capture.body_sizes.append(len(body))
            self.reply(204)

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the browser drops connections it no longer needs (favicon...)


def serve() -> Iterator[tuple[Capture, str]]:
    """(capture, site origin); the collector runs on a second port."""
    capture = Capture()
    collector: list[str] = []
    handler = make_handler(capture, collector)
    started = [QuietServer(("127.0.0.1", 0), handler) for _ in range(2)]
    for server in started:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    site, coll = (f"http://127.0.0.1:{s.server_address[1]}" for s in started)
    collector.append(coll)
    yield capture, site
    for server in started:
        server.shutdown()
        server.server_close()


def launch(request: pytest.FixtureRequest) -> Iterator[object]:
    """Debian's Chromium under Playwright (never a downloaded browser).

    One process can drive only one sync Playwright at a time, so a browser that
    the shared conftest already provides (fixture "chromium") is reused; a
    module launches its own only where there is none.
    """
    try:
        shared = request.getfixturevalue("chromium")
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        yield shared
        return
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                # Beacons sent while a page unloads carry the browser's own UA.
                f"--user-agent={USER_AGENT}",
            ],
        )
        yield launched
        launched.close()


class SnippetRun:
    """One browser context, with every page error recorded."""

    def __init__(self, chromium: object, capture: Capture, site: str) -> None:
        self.chromium = chromium
        self.capture = capture
        self.site = site
        self.errors: list[str] = []
        self.contexts: list[object] = []

    def context(
        self, mode: str = "always", init_script: str = "", extension: bool = True
    ) -> object:
        self.capture.reset(mode, extension)
        context = self.chromium.new_context(user_agent=USER_AGENT, viewport=VIEWPORT)
        if init_script:
            context.add_init_script(init_script)
        context.on(
            "page",
            lambda page: page.on(
                "pageerror", lambda e: self.errors.append(f"{e.message}\n{e.stack}")
            ),
        )
        self.contexts.append(context)
        return context

    def open(self, context: object, path: str, **goto: object) -> object:
        page = context.new_page()
        page.goto(self.site + path, **goto)
        # The snippet is a deferred script: it has run once the DOM is ready.
        page.wait_for_function("typeof window.resonance === 'function'")
        return page

    def open_settled(self, context: object, path: str) -> object:
        """A page once the privacy mode is known and the extension is in (when
        served): a reader who stays a second."""
        page = context.new_page()
        page.goto(self.site + path)
        wanted = ["/e?s=demo"] + (["/r2.js"] if self.capture.extension else [])
        page.wait_for_function(
            """wanted => wanted.every(path => performance
                .getEntriesByType('resource')
                .some(r => r.name.endsWith(path) && r.responseEnd > 0))""",
            arg=wanted,
        )
        page.wait_for_timeout(100)  # the module has run its start
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        # Closing sends the last batches (keepalive): let them land before the
        # next test resets the capture, so that they are not taken for its own.
        time.sleep(0.5)


def run(chromium: object, servers: tuple[Capture, str]) -> Iterator[SnippetRun]:
    """A test's run; afterwards, no snippet error and only valid batches."""
    capture, site = servers
    s = SnippetRun(chromium, capture, site)
    yield s
    s.close()
    snippet_errors = [e for e in s.errors if "/r.js" in e or "/r2.js" in e]
    assert snippet_errors == [], "the snippet threw into the page"
    for batch in capture.batches:
        assert_valid_batch(batch)
    assert all(size < MAX_BODY for size in capture.body_sizes)


def leave(page: object) -> None:
    """Navigate away: visibilitychange and pagehide make the snippet flush."""
    page.goto("about:blank")
