"""A customer's site in front of the real collector, for the snippet's tests.

The pages of tests/snippet_pages/ are served from their own origin, as on a
customer's site; the collector (gunicorn, ``live_server``) is reached through a
small gate, a proxy that a test can close: it then answers ``POST /e`` with 503,
or drops the connection, while the scripts and the privacy mode still load.
Test modules wrap :func:`customers` in a fixture of their own.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from conftest import BROWSER_UA
from sqlalchemy.orm import Session

from tracker.sites import create_site

PAGES = Path(__file__).resolve().parent / "snippet_pages"
VIEWPORT = {"width": 1280, "height": 800}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host"}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # dropped connections are part of the game here


def serve(handler: type) -> tuple[QuietServer, str]:
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Gate:
    """A proxy in front of the collector. ``state``: "open" forwards everything;
    "503" answers every ``POST /e`` with 503 (with CORS headers, as the collector
    does when its database is down); "reset" closes those connections unanswered
    (a network error). ``hold``: the next so many batches are forwarded a
    second late, as on a slow network path. It records every batch posted to it
    and the collector's status for each one forwarded."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.state = "open"
        self.hold = 0  # the next this many batches are forwarded a second late
        self.posted: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        self.server, self.url = serve(self.handler())

    def handler(self) -> type:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.forward(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with gate.lock:
                    gate.posted.append(json.loads(body))
                    state = gate.state
                    held, gate.hold = gate.hold > 0, max(gate.hold - 1, 0)
                if held:  # slow on the way: batches sent after it overtake it
                    time.sleep(1.0)
                if state == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if state == "503":
                    self.send_response(503)
                    self.send_header(
                        "Access-Control-Allow-Origin", self.headers["Origin"]
                    )
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", "5")
                    payload = b'{"error": "database unavailable, retry later"}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status = self.forward(body)
                with gate.lock:
                    gate.answers.append(status)

            def forward(self, body: bytes) -> int:
                upstream = http.client.HTTPConnection(
                    gate.upstream.hostname, gate.upstream.port, timeout=10
                )
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                }
                try:
                    upstream.request(self.command, self.path, body or None, headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return answer.status

        return Handler

    def events(self, t: str) -> list[dict]:
        with self.lock:
            return [e for batch in self.posted for e in batch["e"] if e["t"] == t]


def pages_handler(collector: str) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            page = PAGES / urlsplit(self.path).path.lstrip("/")
            if not page.is_file():
                self.send_error(404)
                return
            html = page.read_text().replace("{{COLLECTOR}}", collector).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

    return Handler


class Site:
    """The customer's pages, the gate, and the browser contexts opened on them."""

    def __init__(self, chromium: object, gate: Gate, origin: str) -> None:
        self.chromium = chromium
        self.gate = gate
        self.origin = origin
        self.errors: list[str] = []
        self.contexts: list[object] = []

    def context(self) -> object:
        context = self.chromium.new_context(user_agent=BROWSER_UA, viewport=VIEWPORT)
        context.on(
            "page",
            lambda page: page.on(
                "pageerror", lambda e: self.errors.append(f"{e.message}\n{e.stack}")
            ),
        )
        self.contexts.append(context)
        return context

    def open(self, context: object, path: str) -> object:
        """A page of the site, once the snippet knows the privacy mode (a visitor
        id in storage, in mode "always") and its extension is in: a reader who
        stays a second."""
        page = context.new_page()
        page.goto(self.origin + path)
        page.wait_for_function(
            """typeof window.resonance === 'function' && !resonance.q
            && ['/r2.js', '/e?s=demo'].every(path => performance
                .getEntriesByType('resource')
                .some(r => r.name.endsWith(path) && r.responseEnd > 0))"""
        )
        page.wait_for_timeout(100)  # the module has run its start
        return page


def customers(
    live_server: str, session: Session, chromium: object
) -> Iterator[Callable[..., Site]]:
    """customer(mode) -> Site: a site of that privacy mode allowing the pages'
    origin, and the servers in front of it; afterwards, no snippet error."""
    gate = Gate(live_server)
    pages_server, origin = serve(pages_handler(gate.url))
    opened: list[Site] = []

    def make(mode: str = "always") -> Site:
        create_site(session, "Pages", origins=[origin], privacy_mode=mode, key="demo")
        session.commit()
        opened.append(Site(chromium, gate, origin))
        return opened[-1]

    yield make
    for site in opened:
        for context in site.contexts:
            context.close()
    for server in (gate.server, pages_server):
        server.shutdown()
        server.server_close()
    snippet_errors = [
        e for s in opened for e in s.errors if "/r.js" in e or "/r2.js" in e
    ]
    assert snippet_errors == [], "the snippet threw into the page"


def leave(page: object) -> None:
    page.goto("about:blank")
