"""The snippet's extension (/r2.js) in real Chromium against the real collector.

Dead and error clicks, shared-browser visitor ids and the retry queue, each
checked on the rows the collector stored (SQLite and PostgreSQL). The pages of
tests/snippet_pages/ are served from their own origin, as on a customer's site;
the collector (gunicorn, ``live_server``) is reached through a small gate, a
proxy that a test can close: it then answers ``POST /e`` with 503, or drops the
connection, while the scripts and the privacy mode still load.
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

import pytest
from conftest import BROWSER_UA, count, wait_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resonance.core.models import (
    Click,
    Identify,
    IdentityConflict,
    IdentityLink,
    Lead,
    PageView,
    Visitor,
)
from tracker.sites import create_site

pytestmark = pytest.mark.browser

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
    second late, as on a slow network path. It counts every batch posted to it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.state = "open"
        self.hold = 0  # the next this many batches are forwarded a second late
        self.posted: list[dict] = []
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
                self.forward(body)

            def forward(self, body: bytes) -> None:
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


@pytest.fixture
def customer(live_server: str, session: Session, chromium) -> Iterator[Callable]:
    """customer(mode) -> Site: a site of that privacy mode allowing the pages'
    origin, and the servers in front of it."""
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


# ---- dead and error clicks -----------------------------------------------------


def stored_clicks(session: Session, expected: int) -> dict[str, Click]:
    def clicks():
        session.expire_all()
        rows = session.scalars(select(Click)).all()
        return rows if len(rows) >= expected else None

    rows = wait_for(clicks)
    assert rows, "the clicks did not arrive"
    return {row.selector: row for row in rows}


def test_dead_and_error_clicks_are_flagged(customer, session):
    site = customer()
    page = site.open(site.context(), "/clicks.html")
    for target in ("#plain", "#grow", "#toggle", "#broken", "#lazy"):
        page.click(target)
        page.wait_for_timeout(1200)  # one verdict at a time: no overlap

    clicks = stored_clicks(session, 5)

    plain = clicks["#plain"]
    assert (plain.tag, plain.interactive, plain.dead, plain.error) == (
        "p",
        False,
        True,
        False,
    )
    # A button whose handler changes the DOM: interactive, alive.
    grow = clicks["#grow"]
    assert (grow.interactive, grow.dead, grow.error) == (True, False, False)
    assert page.locator("#log li").count() >= 1
    # Not interactive, but its listener changed the DOM: alive.
    toggle = clicks["#toggle"]
    assert (toggle.interactive, toggle.dead, toggle.error) == (False, False, False)
    # The handler threw: an error click (and dead too: nothing changed).
    broken = clicks["#broken"]
    assert (broken.error, broken.dead) == (True, True)
    # The change came 1.5 s later: outside the window, so dead.
    assert clicks["#lazy"].dead is True
    # Every click stored once, with the flags it had when first sent.
    assert count(session, Click) == 5
    assert [m.split("\n")[0] for m in site.errors] == ["host click handler failed"]


def test_click_that_scrolls_or_navigates_is_not_dead(customer, session):
    site = customer()
    page = site.open(site.context(), "/clicks.html")
    page.evaluate(
        "document.getElementById('plain').addEventListener('click', "
        "() => scrollBy(0, 50))"
    )
    page.click("#plain")
    page.wait_for_timeout(1200)
    # The visitor leaves within the second: the click goes at once on pagehide,
    # with what is known (not dead).
    page.click("#lazy")
    page.goto("about:blank")

    clicks = stored_clicks(session, 2)

    assert clicks["#plain"].dead is False  # it scrolled the page
    assert clicks["#lazy"].dead is False  # the page went away within the second


# ---- identity -------------------------------------------------------------------


def identify(page: object, email: str) -> None:
    page.evaluate("email => resonance('identify', {email})", email)


def visitor_ids(session: Session, lead: Lead) -> set[int]:
    return set(
        session.scalars(
            select(IdentityLink.visitor_id).where(IdentityLink.lead_id == lead.id)
        )
    )


def page_views_of(session: Session, lead: Lead) -> list[str]:
    """The lead's reading history: every page view of its linked visitors."""
    return sorted(
        session.scalars(
            select(PageView.url)
            .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
            .where(IdentityLink.lead_id == lead.id)
        )
    )


def leave(page: object) -> None:
    page.goto("about:blank")


def test_two_browsers_identifying_as_one_email_share_one_lead(customer, session):
    site = customer()
    first, second = site.context(), site.context()
    # Anonymous reading first: two pages, then the visitor identifies.
    leave(site.open(first, "/long.html"))
    page = site.open(first, "/other.html")
    identify(page, "Ada@Example.com")
    identify(page, " ada@example.com ")  # the same person again: no new id
    leave(page)
    page = site.open(second, "/basic.html")
    identify(page, "ada@example.com")
    leave(page)

    def done():
        session.expire_all()
        return (
            session.scalar(select(func.count(Identify.id))) == 3
            and count(session, PageView) == 3
        )

    assert wait_for(done), site.gate.posted
    lead = session.scalars(select(Lead)).one()
    assert lead.email == "ada@example.com"
    assert len(visitor_ids(session, lead)) == 2  # one per browser
    assert page_views_of(session, lead) == sorted(
        site.origin + path for path in ("/long.html", "/other.html", "/basic.html")
    )
    assert count(session, IdentityConflict) == 0
    assert count(session, Visitor) == 2


def test_identify_just_before_leaving_arrives_though_its_page_view_is_slow(
    customer, session
):
    """The page view's batch is slow on the way; as the page goes away the
    batches behind it go joined with it, so none arrives before its page view
    (the collector would refuse it) and the identify is not lost."""
    site = customer()
    page = site.open(site.context(), "/long.html")
    site.gate.hold = 1
    identify(page, "ada@example.com")  # goes with the page view: held
    page.wait_for_timeout(100)
    identify(page, "ada@example.com")  # queued behind it
    page.mouse.wheel(0, 1500)
    page.wait_for_timeout(300)
    leave(page)

    assert wait_for(lambda: count(session, Identify) == 2), [
        [e["t"] for e in b["e"]] for b in site.gate.posted
    ]
    view = session.scalars(select(PageView)).one()
    assert view.max_scroll_px > 800  # the last batch's scroll depth
    lead = session.scalars(select(Lead)).one()
    assert page_views_of(session, lead) == [site.origin + "/long.html"]
    # The joined body went while the first was held, and repeated it.
    sent = [[e["t"] for e in batch["e"]] for batch in site.gate.posted]
    assert sent[0][0] == "pv" and sent[0][-1] == "id"
    assert sent[-1][: len(sent[0]) + 1] == [*sent[0], "id"]
    assert count(session, PageView) == 1


def test_shared_browser_gets_a_new_visitor_id_for_a_second_person(customer, session):
    site = customer()
    context = site.context()
    page = site.open(context, "/long.html")
    identify(page, "ada@example.com")
    wait_for(lambda: count(session, Identify) == 1)
    first_id = page.evaluate("localStorage.rs_vid")
    who = page.evaluate("localStorage.rs_who")
    assert who.startswith(first_id + " ") and "ada" not in who  # a hash, no e-mail
    leave(page)

    # Someone else signs in on the same computer.
    page = site.open(context, "/other.html")
    identify(page, "grace@example.com")
    wait_for(lambda: count(session, Identify) == 2)
    second_id = page.evaluate("localStorage.rs_vid")
    leave(page)
    page = site.open(context, "/basic.html")
    leave(page)
    wait_for(lambda: count(session, PageView) == 3)

    assert second_id != first_id
    ada = session.scalars(select(Lead).where(Lead.email == "ada@example.com")).one()
    grace = session.scalars(select(Lead).where(Lead.email == "grace@example.com")).one()
    # Ada keeps her history, nothing of it moved to Grace.
    assert page_views_of(session, ada) == sorted(
        [site.origin + "/long.html", site.origin + "/other.html"]
    )
    # From the identify on, the browser is Grace's new visitor.
    assert page_views_of(session, grace) == [site.origin + "/basic.html"]
    uids = {
        lead.email: session.scalars(
            select(Visitor.uid).where(Visitor.id.in_(visitor_ids(session, lead)))
        ).all()
        for lead in (ada, grace)
    }
    assert uids == {
        "ada@example.com": [f"c:{first_id}"],
        "grace@example.com": [f"c:{second_id}"],
    }
    conflict = session.scalars(select(IdentityConflict)).one()
    first_visitor = session.scalar(
        select(Visitor.id).where(Visitor.uid == f"c:{first_id}")
    )
    assert (
        conflict.visitor_id,
        conflict.linked_lead_id,
        conflict.attempted_lead_id,
    ) == (
        first_visitor,
        ada.id,
        grace.id,
    )
    # The previous id was named once, in the batch of Grace's identify.
    named = [b for b in site.gate.posted if "o" in b]
    assert [(b["o"], b["v"]) for b in named] == [(first_id, second_id)]
    assert [e["em"] for b in named for e in b["e"] if e["t"] == "id"] == [
        "grace@example.com"
    ]


def test_identify_from_a_marked_form(customer, session):
    site = customer()
    page = site.open(site.context(), "/identify.html")
    page.fill("#work-email", "Form.User@Example.com")
    page.click("#send-other")  # not marked: nothing
    page.click("#send")

    assert wait_for(lambda: count(session, Identify) == 2)  # the stub's, the form's
    emails = set(session.scalars(select(Identify.email)))
    assert emails == {"stub.user@example.com", "form.user@example.com"}


# ---- retry queue ----------------------------------------------------------------


@pytest.mark.parametrize("failure", ["503", "reset"])
def test_batches_refused_while_the_collector_is_down_arrive_once_later(
    customer, session, failure
):
    site = customer()
    site.gate.state = failure
    context = site.context()
    page = site.open(context, "/basic.html")
    page.click("#cta")
    page.click("p.target")
    # Tried and failed, kept in storage for the next page load.
    assert wait_for(lambda: site.gate.posted)
    page.wait_for_timeout(300)
    assert page.evaluate("JSON.parse(localStorage.rs_retry).length") >= 1
    page.click("#kbd")
    leave(page)  # the last batches fail too
    assert count(session, PageView) == 0

    site.gate.state = "open"
    page = site.open(context, "/other.html")
    page.wait_for_function("!localStorage.rs_retry", timeout=10_000)

    assert wait_for(
        lambda: count(session, PageView) == 2 and count(session, Click) == 3
    )
    urls = sorted(session.scalars(select(PageView.url)))
    assert urls == [site.origin + "/basic.html", site.origin + "/other.html"]
    assert sorted(session.scalars(select(Click.tag))) == ["button", "button", "p"]
    # Some batches really went twice or more; each event is stored once.
    first_pv = [e for e in site.gate.events("pv") if e["u"].endswith("/basic.html")]
    assert len(first_pv) >= 2
    assert count(session, PageView) == 2 and count(session, Click) == 3
    leave(page)


def test_retry_in_memory_when_storage_is_not_allowed(customer, session):
    """Anonymous mode: nothing in storage; batches wait in memory and go with the
    next flush once the collector is back."""
    site = customer(mode="anonymous")
    site.gate.state = "503"
    page = site.open(site.context(), "/basic.html")
    page.click("#cta")
    assert wait_for(lambda: site.gate.posted)  # the page view and the click: 503
    page.wait_for_timeout(300)
    assert page.evaluate("Object.keys(localStorage)") == []

    site.gate.state = "open"
    page.click("#kbd")  # the next flush drains the queue, oldest first

    assert wait_for(lambda: count(session, Click) == 2)
    assert count(session, PageView) == 1
    assert page.evaluate("Object.keys(localStorage)") == []
    leave(page)
