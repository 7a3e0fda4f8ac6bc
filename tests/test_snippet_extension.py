"""The snippet's extension (/r2.js) in real Chromium against the real collector.

Dead and error clicks, shared-browser visitor ids and the retry queue, each
checked on the rows the collector stored (SQLite and PostgreSQL), on a
customer's site in front of the real collector (tests/snippet_site.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import snippet_site
from conftest import count, wait_for
from snippet_site import leave
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

pytestmark = pytest.mark.browser


@pytest.fixture
def customer(live_server: str, session: Session, chromium) -> Iterator[Callable]:
    yield from snippet_site.customers(live_server, session, chromium)


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
        page.wait_for_timeout(2700)  # one verdict at a time: no overlap

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
    # The change came 3 s later: outside the 2.5 s window, so dead.
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
    page.wait_for_timeout(2700)
    # The visitor leaves within 2.5 s: the click goes at once on pagehide,
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
