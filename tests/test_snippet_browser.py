"""The tracking snippet (static/js/r.min.js and its extension r2.min.js) in a real
Chromium, against the fake collector of tests/snippet_capture.py: page views,
clicks, scroll, attention, single-page apps, identify, privacy modes, hooks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time

import pytest
from snippet_capture import (
    CLICK_KEYS,
    EVENT_KEYS,
    ID_RE,
    PV_KEYS,
    ROOT,
    SnippetRun,
    leave,
)

pytestmark = pytest.mark.browser

SOURCE = ROOT / "static" / "js" / "resonance.js"
BUILD = ROOT / "static" / "js" / "r.min.js"
BUILD_HASH = ROOT / "static" / "js" / "r.min.js.sha"
# build.sh's budget for the core, gzip -9 bytes (docs/beacon.md).
CORE_BUDGET = 3200


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
    capture.wait_for(lambda: capture.events("c") and len(capture.events("id")) == 2)

    # Identify from marked forms is the core's own: it works without /r2.js.
    assert [e["em"] for e in capture.events("id")] == [
        "stub.user@example.com",
        "form.user@example.com",
    ]
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
    assert len(gzip.compress(built, compresslevel=9)) <= CORE_BUDGET
