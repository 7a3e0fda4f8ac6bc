"""The tracking snippet (static/js/r.min.js and its extension r2.min.js) in a real
Chromium.

A capture server stands in for the collector: it serves the built snippet at
/r.js and its extension at /r2.js (or not, to show the core works without it),
answers the privacy-mode request GET /e?s=... and records every POST /e
batch. The HTML fixtures in tests/snippet_pages/ are served by a second server on
another port, so the snippet runs cross-origin, as on a customer's site.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "static" / "js" / "resonance.js"
BUILD = ROOT / "static" / "js" / "r.min.js"
BUILD_HASH = ROOT / "static" / "js" / "r.min.js.sha"
EXTENSION = ROOT / "static" / "js" / "r2.min.js"
PAGES = Path(__file__).resolve().parent / "snippet_pages"
CHROMIUM = Path("/usr/bin/chromium")
# The collector drops HeadlessChrome as a bot: look like a desktop Chrome.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
VIEWPORT = {"width": 1280, "height": 800}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
EVENT_KEYS = {"t", "id", "ts", "p"}
PV_KEYS = EVENT_KEYS | {"u", "r", "ti", "vw", "vh", "dh"}
CLICK_KEYS = EVENT_KEYS | {"x", "y", "vw", "s", "fx", "fy", "tg", "tx", "h", "in"}

# docs/beacon.md, key by key: (required, optional) keys of each event type.
EVENT_TYPES = {
    "pv": ({"u", "ti", "vw", "vh", "dh"}, {"r"}),
    "c": ({"x", "y", "vw", "s", "fx", "fy", "tg", "in"}, {"tx", "h", "dd", "er"}),
    "s": ({"d", "dh"}, set()),  # (the collector computes d / dh)
    "l": ({"sec"}, set()),
    "a": ({"ms", "a"}, set()),
    "id": ({"em"}, set()),
}


def is_int(value: object, high: int) -> bool:
    return type(value) is int and 0 <= value <= high


def is_str(value: object, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def is_fraction(value: object) -> bool:
    return type(value) in (int, float) and 0 <= value <= 1


def assert_valid_batch(batch: dict) -> None:
    """What the collector accepts, per docs/beacon.md."""
    assert {"s", "e"} <= set(batch) <= {"s", "v", "o", "i", "e"}, batch
    assert is_str(batch["s"], 1, 64)
    assert "v" not in batch or ID_RE.match(batch["v"])
    assert "o" not in batch or (ID_RE.match(batch["o"]) and batch["o"] != batch["v"])
    assert batch.get("i", 1) == 1
    assert 1 <= len(batch["e"]) <= 500
    for e in batch["e"]:
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
        else:
            assert is_str(e["em"], 1, 254)


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


@pytest.fixture(scope="module")
def snippet_servers() -> Iterator[tuple[Capture, str]]:
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


@pytest.fixture(scope="module")
def snippet_chromium(request: pytest.FixtureRequest) -> Iterator[object]:
    """Debian's Chromium under Playwright (never a downloaded browser).

    One process can drive only one sync Playwright at a time, so a browser that
    the shared conftest already provides (fixture "chromium") is reused; this
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

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        # Closing sends the last batches (keepalive): let them land before the
        # next test resets the capture, so that they are not taken for its own.
        time.sleep(0.5)


@pytest.fixture
def snippet(
    snippet_chromium: object, snippet_servers: tuple[Capture, str]
) -> Iterator[SnippetRun]:
    capture, site = snippet_servers
    s = SnippetRun(snippet_chromium, capture, site)
    yield s
    s.close()
    snippet_errors = [e for e in s.errors if "/r.js" in e or "/r2.js" in e]
    assert snippet_errors == [], "the snippet threw into the page"
    for batch in capture.batches:
        assert_valid_batch(batch)
    assert all(size < 64_000 for size in capture.body_sizes)


def leave(page: object) -> None:
    """Navigate away: visibilitychange and pagehide make the snippet flush."""
    page.goto("about:blank")


def test_page_view_has_the_documented_keys_and_a_clean_url(snippet: SnippetRun) -> None:
    context = snippet.context(mode="anonymous")
    before = int(time.time() * 1000)
    page = snippet.open(
        context,
        "/basic.html?utm_source=news&ref=abc&utm_medium=mail#frag",
        referer="https://referrer.example/post",
    )
    dh = page.evaluate("document.documentElement.scrollHeight")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv"))
    after = int(time.time() * 1000)

    assert all(set(b) == {"s", "e"} for b in capture.batches)  # anonymous: no v
    assert all(b["s"] == "demo" for b in capture.batches)
    assert capture.mode_requests == ["demo"]
    [pv] = capture.events("pv")
    assert set(pv) == PV_KEYS
    assert pv["u"] == snippet.site + "/basic.html?utm_source=news&utm_medium=mail"
    assert pv["r"] == "https://referrer.example/post"
    assert pv["ti"] == "Basic page"
    assert (pv["vw"], pv["vh"], pv["dh"]) == (1280, 800, dh)
    assert pv["id"] == pv["p"] and ID_RE.match(pv["id"])
    assert before <= pv["ts"] <= after
    events = capture.events()
    assert len({e["id"] for e in events}) == len(events)
    assert all(ID_RE.match(e["id"]) and e["p"] == pv["id"] for e in events)
    # sendBeacon's string body: text/plain, so no CORS preflight.
    assert all(c.startswith("text/plain") for c in capture.content_types)


# Records every read of a layout-forcing property made while /r.js itself runs
# its start (document.currentScript is that script only then).
LAYOUT_READS_AT_START = """
window.__startReads = [];
const watch = (target, names) => names.forEach((name) => {
  const original = Object.getOwnPropertyDescriptor(target, name);
  Object.defineProperty(target, name, { ...original, get() {
    if (document.currentScript?.src.endsWith('/r.js')) window.__startReads.push(name);
    return original.get.call(this);
  } });
});
watch(window, ['innerWidth', 'innerHeight', 'scrollX', 'scrollY', 'pageYOffset']);
watch(Element.prototype, ['scrollHeight', 'scrollTop', 'clientHeight', 'clientWidth']);
watch(HTMLElement.prototype, ['offsetHeight', 'offsetTop', 'offsetWidth']);
const rect = Element.prototype.getBoundingClientRect;
Element.prototype.getBoundingClientRect = function () {
  if (document.currentScript?.src.endsWith('/r.js'))
    window.__startReads.push('getBoundingClientRect');
  return rect.call(this);
};
"""


def test_the_snippet_reads_no_layout_while_it_starts(snippet: SnippetRun) -> None:
    # A layout read at start forces the page's first layout inside the snippet's
    # task (20-90 ms on a long page: a long task). Sizes are read when sent.
    context = snippet.context(init_script=LAYOUT_READS_AT_START)
    page = snippet.open(context, "/basic.html")
    reads = page.evaluate("window.__startReads")
    dh = page.evaluate("document.documentElement.scrollHeight")
    leave(page)
    snippet.capture.wait_for(lambda: snippet.capture.events("pv"))

    assert reads == []
    [pv] = snippet.capture.events("pv")
    assert (pv["vw"], pv["vh"], pv["dh"]) == (1280, 800, dh)


def test_clicks(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(), "/basic.html")
    capture = snippet.capture

    # A button with a unique hand-written id (200 x 50 px at 100, 100), clicked
    # at a chosen point inside its box.
    page.mouse.click(150, 135)
    # A paragraph without id, inside a div whose id looks generated (digits).
    box = page.locator("p.target").bounding_box()
    x, y = round(box["x"] + 0.9 * box["width"]), round(box["y"] + 0.2 * box["height"])
    page.mouse.click(x, y)
    # A keyboard click, and a click on a form field.
    page.focus("#kbd")
    page.keyboard.press("Enter")
    page.click("#email")

    # Flushed about 5 s after the first event, without leaving the page.
    capture.wait_for(lambda: len(capture.events("c")) == 4)
    cta, paragraph, keyboard, field = capture.events("c")

    assert set(cta) == CLICK_KEYS - {"h"}
    assert cta["s"] == "#cta"
    assert (cta["fx"], cta["fy"]) == (0.25, 0.7)
    assert (cta["x"], cta["y"], cta["vw"]) == (150, 135, 1280)
    assert (cta["tg"], cta["tx"], cta["in"]) == ("button", "Get started", True)

    selector = paragraph["s"]
    assert selector.startswith("#content>") and ":nth-of-type(" in selector
    assert page.evaluate(
        "s => document.querySelector(s) === document.querySelector('p.target')",
        selector,
    )
    assert paragraph["fx"] == pytest.approx((x - box["x"]) / box["width"], abs=0.01)
    assert paragraph["fy"] == pytest.approx((y - box["y"]) / box["height"], abs=0.01)
    assert (paragraph["x"], paragraph["y"]) == (x, y)
    assert (paragraph["tg"], paragraph["tx"], paragraph["in"]) == (
        "p",
        "The target paragraph",
        False,
    )

    assert (keyboard["s"], keyboard["fx"], keyboard["fy"]) == ("#kbd", 0.5, 0.5)

    assert field["s"] == "#email" and field["in"] is True
    assert field["tx"] == ""  # never a form field's content

    # A click on the text inside a link counts for the link; it navigates away,
    # and the pagehide flush delivers it.
    page.click("#next .label")
    capture.wait_for(lambda: len(capture.events("c")) == 5)
    link = capture.events("c")[-1]
    assert (link["s"], link["tg"], link["in"]) == ("#next", "a", True)
    assert link["h"] == snippet.site + "/other.html?from=basic#top"
    assert link["tx"] == "Next page"


def test_scroll_attention_and_layout(snippet: SnippetRun) -> None:
    context = snippet.context()
    page = snippet.open(context, "/long.html")
    expected = page.evaluate(
        """() => [...document.querySelectorAll('h1,h2,h3')]
            .filter(h => h.offsetHeight)
            .map(h => [+h.tagName[1], h.getBoundingClientRect().top + scrollY])"""
    )
    dh = page.evaluate("document.documentElement.scrollHeight")
    page.wait_for_timeout(1200)  # the first tick lays out the sections
    page.mouse.move(600, 400)
    page.mouse.wheel(0, dh)
    page.wait_for_function("scrollY + innerHeight >= document.body.scrollHeight")
    page.wait_for_timeout(2200)  # two more active ticks at the bottom
    # Closing the tab as a person would: pagehide, then visibilitychange to
    # hidden. (A dispatched event would not change document.visibilityState.)
    page.close(run_before_unload=True)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("s") and capture.events("a"))

    [layout] = capture.events("l")
    headings = [(level, text) for level, text, _, _ in layout["sec"]]
    assert headings == [
        (1, "Intro"),
        (2, "Features and more"),
        (3, "Details"),
        (2, "Pricing"),
    ]
    tops = [top for _, _, top, _ in layout["sec"]]
    assert tops == [round(top) for _, top in expected]
    heights = [height for _, _, _, height in layout["sec"]]
    assert heights == [b - a for a, b in zip(tops, tops[1:] + [dh], strict=True)]

    # Scroll and attention are cumulative: pagehide and visibilitychange may
    # each send one when the page moved a pixel in between. Values only grow,
    # and the collector keeps the last, largest one.
    scrolls = capture.events("s")
    assert [e["d"] for e in scrolls] == sorted(e["d"] for e in scrolls)
    scroll = scrolls[-1]
    assert (scroll["d"], scroll["dh"]) == (dh, dh)

    attentions = capture.events("a")
    assert [e["ms"] for e in attentions] == sorted(e["ms"] for e in attentions)
    attention = attentions[-1]
    assert attention["ms"] >= 3000
    seen = dict(attention["a"])
    assert set(seen) <= {0, 1, 2, 3}
    assert seen[0] >= 1000  # read at the top before scrolling
    assert seen[3] >= 2000  # and at the bottom for two ticks
    assert all(ms <= attention["ms"] for ms in seen.values())
    pv = capture.events("pv")[0]
    assert {e["p"] for e in capture.events()} == {pv["id"]}


def test_single_page_app_navigation(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(), "/spa.html")
    capture = snippet.capture
    # Each route renders after the URL changed, as routers do; the first is
    # 3,000 px tall, the second 1,200 px.
    page.evaluate("document.body.style.height = '3000px'")
    page.evaluate(
        "history.pushState({}, '', '/app/second?utm_campaign=x&q=1#top');"
        "document.body.style.height = '1200px'"
    )
    # Same path, other query: no new page view.
    page.evaluate("history.replaceState({}, '', '/app/second?tab=2')")
    page.evaluate("history.back()")  # popstate, back on /spa.html
    page.wait_for_function("location.pathname === '/spa.html'")
    page.evaluate("document.body.style.height = '3000px'")
    leave(page)
    capture.wait_for(lambda: len(capture.events("pv")) == 3)

    # Each page left goes in its own beacon, at once; beacons sent within
    # milliseconds of each other may arrive in any order (separate requests),
    # so the page views are put in order by their referrers.
    views = capture.events("pv")
    [first] = [v for v in views if "r" not in v]
    [second] = [v for v in views if v.get("r") == first["u"]]
    [third] = [v for v in views if v.get("r") == second["u"]]
    assert first["u"] == snippet.site + "/spa.html"
    assert second["u"] == snippet.site + "/app/second?utm_campaign=x"
    assert third["u"] == first["u"]
    assert len({first["id"], second["id"], third["id"]}) == 3

    # A page left is sent at once, so the document height (read when sent)
    # is its own, not the next route's.
    assert (first["dh"] >= 3000, second["dh"] < 1500, third["dh"] >= 3000) == (
        True,
        True,
        True,
    ), (first["dh"], second["dh"], third["dh"])
    # Three navigations, three beacons: no page view waited for the next one.
    sent_in = {e["id"]: n for n, b in enumerate(capture.batches) for e in b["e"]}
    assert len({sent_in[v["id"]] for v in (first, second, third)}) == 3


def test_identify_and_visitor_id_in_mode_always(snippet: SnippetRun) -> None:
    context = snippet.context(mode="always")
    page = snippet.open(context, "/identify.html")
    capture = snippet.capture
    # The call queued by the stub before the snippet loaded.
    capture.wait_for(lambda: capture.events("id"))
    [stub] = capture.events("id")
    assert set(stub) == EVENT_KEYS | {"em"}
    assert stub["em"] == "stub.user@example.com"

    # The same person (the address as typed, another case), through a form.
    page.fill("#work-email", "Stub.User@Example.com")
    page.click("#send-other")  # a form without data-resonance-identify
    page.click("#send")
    # Sent at once, not after the usual 4.5 to 5.5 s of batching.
    capture.wait_for(lambda: len(capture.events("id")) == 2, timeout=1.0)
    assert capture.events("id")[1]["em"] == "Stub.User@Example.com"
    leave(page)

    # A second page load in the same browser: the same visitor id.
    page = snippet.open(context, "/other.html")
    leave(page)
    capture.wait_for(lambda: len(capture.events("pv")) == 2)
    visitor_ids = {b.get("v") for b in capture.batches}
    assert len(visitor_ids) == 1
    [visitor_id] = visitor_ids
    assert ID_RE.match(visitor_id)
    assert all("o" not in b for b in capture.batches)


def test_another_person_identifying_gets_a_new_visitor_id(snippet: SnippetRun) -> None:
    context = snippet.context(mode="always")
    page = snippet.open(context, "/identify.html")
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("id"))  # the stub's
    first_id = page.evaluate("localStorage.rs_vid")
    who = page.evaluate("localStorage.rs_who")
    assert who.startswith(first_id + " ")
    assert "stub" not in who.lower()  # a hash of the address, never the address

    page.fill("#work-email", "someone.else@example.com")
    page.click("#send")
    capture.wait_for(lambda: len(capture.events("id")) == 2)
    second_id = page.evaluate("localStorage.rs_vid")
    leave(page)
    page = snippet.open(context, "/other.html")
    leave(page)
    capture.wait_for(lambda: len(capture.events("pv")) == 2)

    assert ID_RE.match(second_id) and second_id != first_id
    # The previous id named once, with the new one, in the identify's batch
    # (which the next page may send again, unchanged, if its answer was lost).
    [named] = {json.dumps(b, sort_keys=True) for b in capture.batches if "o" in b}
    named = json.loads(named)
    assert (named["o"], named["v"]) == (first_id, second_id)
    assert [e["em"] for e in named["e"] if e["t"] == "id"] == [
        "someone.else@example.com"
    ]
    # What was queued before that identify stayed with the previous id; the
    # next page is the new one's. (A batch whose answer the page did not live
    # to see is sent again by the next page: compare per page view.)
    visitor_of = {
        e["u"].rsplit("/", 1)[1]: b["v"]
        for b in capture.batches
        for e in b["e"]
        if e["t"] == "pv"
    }
    assert visitor_of == {"identify.html": first_id, "other.html": second_id}


def test_no_identify_and_no_visitor_id_when_anonymous(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(mode="anonymous"), "/identify.html")
    page.fill("#work-email", "form.user@example.com")
    page.click("#send")
    page.evaluate("resonance('identify', {email: 'late@example.com'})")
    page.wait_for_timeout(300)  # the mode is known by now
    stored = page.evaluate("Object.keys(localStorage)")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv"))
    assert capture.events("id") == []
    assert all("v" not in b for b in capture.batches)
    assert stored == []


def test_global_privacy_control_forces_anonymous(snippet: SnippetRun) -> None:
    context = snippet.context(
        mode="always",
        init_script="Object.defineProperty(Navigator.prototype, "
        "'globalPrivacyControl', {get: () => true})",
    )
    page = snippet.open(context, "/identify.html")
    page.fill("#work-email", "form.user@example.com")
    page.click("#send")
    stored = page.evaluate("Object.keys(localStorage)")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv"))
    assert capture.events("id") == []
    assert all("v" not in b for b in capture.batches)
    assert stored == []


def test_consented_mode_waits_for_consent(snippet: SnippetRun) -> None:
    context = snippet.context(mode="consented")
    page = snippet.open(context, "/spa.html")
    capture = snippet.capture
    page.evaluate("resonance('identify', {email: 'early@example.com'})")
    capture.wait_for(lambda: capture.mode_requests)
    page.wait_for_timeout(300)  # the answer has been read by now
    assert page.evaluate("Object.keys(localStorage)") == []
    page.evaluate("resonance('consent', true)")
    page.evaluate("resonance('identify', {email: 'after@example.com'})")
    capture.wait_for(lambda: capture.events("id"))
    assert [e["em"] for e in capture.events("id")] == ["after@example.com"]
    stored = page.evaluate("({...localStorage})")
    visitor_id = capture.batches[-1]["v"]
    assert stored.pop("rs_who").startswith(visitor_id + " ")  # the extension's
    assert stored == {"rs_consent": "1", "rs_vid": visitor_id}

    page.evaluate("resonance('consent', false)")
    page.wait_for_timeout(300)
    assert page.evaluate("Object.keys(localStorage)") == []
    page.mouse.click(10, 10)  # something to send after the consent is gone
    leave(page)
    capture.wait_for(lambda: capture.events("c") and "v" not in capture.batches[-1])


def test_optout_sends_nothing_until_opted_back_in(snippet: SnippetRun) -> None:
    context = snippet.context()
    page = snippet.open(context, "/optout.html")
    page.click("#b")
    assert page.evaluate("localStorage.rs_optout") == "1"
    leave(page)
    # Remembered: a later page of the site sends nothing either.
    page = snippet.open(context, "/basic.html")
    page.click("#cta")
    leave(page)
    # Back in: this page view and what follows are sent again.
    page = snippet.open(context, "/optin.html")
    page.evaluate("resonance('internal')")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv"))
    page.wait_for_timeout(300)
    assert [e["u"] for e in capture.events("pv")] == [snippet.site + "/optin.html"]
    assert capture.events("c") == []
    assert capture.batches[-1]["i"] == 1  # resonance("internal")


def test_survives_broken_pages_and_missing_send_beacon(snippet: SnippetRun) -> None:
    context = snippet.context(init_script="delete Navigator.prototype.sendBeacon")
    page = snippet.open(context, "/throws.html")
    assert page.evaluate("typeof navigator.sendBeacon") == "undefined"
    page.click("#b")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv") and capture.events("c"))
    # Sent by fetch instead: still text/plain.
    assert all(c.startswith("text/plain") for c in capture.content_types)
    messages = sorted(e.split("\n")[0] for e in snippet.errors)
    assert messages == [
        "host click handler",
        "host script after the snippet",
        "host script before the snippet",
    ]

    # Storage that throws on every access (blocked cookies) changes nothing.
    snippet.errors.clear()
    context = snippet.context(
        init_script="Object.defineProperty(window, 'localStorage', "
        "{get() { throw new DOMException('denied', 'SecurityError') }})"
    )
    page = snippet.open(context, "/basic.html")
    page.evaluate("resonance('optout'); resonance('optout', false)")
    page.click("#cta")
    leave(page)
    capture.wait_for(lambda: capture.events("c"))
    assert snippet.errors == []


def test_core_works_on_when_the_extension_does_not_load(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(extension=False), "/identify.html")
    capture = snippet.capture
    # The stub's identify waited for the import, which failed, then went out.
    capture.wait_for(lambda: capture.events("id"))
    page.fill("#work-email", "form.user@example.com")
    page.click("#send")
    leave(page)
    capture.wait_for(lambda: capture.events("c"))

    # Identify from marked forms is the extension's: only the stub's arrived.
    assert [e["em"] for e in capture.events("id")] == ["stub.user@example.com"]
    assert len(capture.events("pv")) == 1
    [click] = capture.events("c")
    assert click["s"] == "#send" and "dd" not in click and "er" not in click
    assert snippet.errors == []


def test_nothing_without_data_site(snippet: SnippetRun) -> None:
    context = snippet.context()
    page = context.new_page()
    page.goto(snippet.site + "/nosite.html")
    page.wait_for_load_state("load")
    page.click("#b")
    page.wait_for_timeout(300)
    leave(page)
    page.wait_for_timeout(300)
    assert snippet.capture.batches == []
    assert snippet.capture.mode_requests == []
    assert snippet.errors == []


def click_targets(snippet: SnippetRun, *targets: str) -> dict[str, str]:
    """Click each class-marked target of hooks.html; {target: selector sent}.

    Every selector must lead querySelector back to the element clicked.
    """
    page = snippet.open(snippet.context(), "/hooks.html")
    for target in targets:
        page.click(target)
    capture = snippet.capture
    capture.wait_for(lambda: len(capture.events("c")) == len(targets))
    selectors = dict(zip(targets, (c["s"] for c in capture.events("c")), strict=True))
    for target, selector in selectors.items():
        assert page.evaluate(
            "([s, t]) => document.querySelector(s) === document.querySelector(t)",
            [selector, target],
        ), (target, selector)
    return selectors


def test_click_selector_is_anchored_at_a_unique_data_hook(snippet: SnippetRun) -> None:
    selectors = click_targets(snippet, ".t-signup", ".t-buy", ".t-hero")

    # The form's hook anchors the path of a button without id or hook inside it.
    assert selectors[".t-signup"] == (
        'form[data-testid="signup-form"]>div:nth-of-type(2)>button:nth-of-type(1)'
    )
    # The element's own hook; a generated data-v-7ba5bd90 before it is skipped.
    assert selectors[".t-buy"] == 'button[data-cta="buy"]'
    # A unique id wins over a hook, whatever the attribute order.
    assert selectors[".t-hero"] == "#hero"


def test_quotes_in_hook_values_and_odd_ids_are_escaped(snippet: SnippetRun) -> None:
    # An unescaped quote would make an invalid selector, which throws and would
    # lose the click: the click arrives, with a selector that works.
    selectors = click_targets(snippet, ".t-quote", ".t-odd-id")

    assert selectors[".t-quote"] == 'span[data-x="a\\"b"]'
    assert selectors[".t-odd-id"] == "#save\\:draft"


def test_shared_generated_or_own_data_hooks_fall_back_to_the_path(
    snippet: SnippetRun,
) -> None:
    selectors = click_targets(snippet, ".t-shared", ".t-digits", ".t-ident")

    # data-kind="plan" is on two items: the path from #plans instead.
    assert selectors[".t-shared"] == "#plans>ul:nth-of-type(1)>li:nth-of-type(2)"
    # A value with digits (data-row="row-17") changes between builds.
    assert selectors[".t-digits"] == "#plans>div:nth-of-type(1)>span:nth-of-type(1)"
    # data-resonance-identify marks a form for the snippet, it is no hook.
    assert "data-" not in selectors[".t-ident"]
    assert selectors[".t-ident"].startswith("html:nth-of-type(1)>body:nth-of-type(1)>")


def test_build_is_fresh_and_within_budget() -> None:
    """build.sh records the hash of the source it minified in r.min.js.sha."""
    built = BUILD.read_bytes()
    source_hash = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    assert BUILD_HASH.read_text() == source_hash + "\n", (
        "r.min.js is stale: run static/js/build.sh"
    )
    assert built.startswith(b"(()=>{"), "no header comment in the served bytes"
    assert len(gzip.compress(built, compresslevel=9)) <= 2048
