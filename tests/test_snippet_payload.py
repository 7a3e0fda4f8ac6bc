"""What the snippet sends, and how, in a real Chromium against the fake
collector (tests/snippet_capture.py): batches cut by size, nothing sensitive in
them, and delivery when sendBeacon fails or the network comes back."""

from __future__ import annotations

import json
import re

import pytest
from snippet_capture import MAX_BODY, SnippetRun, leave

pytestmark = pytest.mark.browser

URL_LIMIT = 2000
PARTIAL_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")


# ---- batch size ------------------------------------------------------------------


@pytest.mark.parametrize("extension", [True, False], ids=["extension", "core-alone"])
def test_thirty_clicks_on_a_long_link_go_in_batches_under_60000_bytes(
    snippet: SnippetRun, extension: bool
) -> None:
    page = snippet.open_settled(snippet.context(extension=extension), "/long-link.html")
    href = page.evaluate("document.getElementById('long').href")
    assert len(href) == 1990
    # 30 clicks within 3 s (40 px apart: no rage), all in the queue by the
    # next flush.
    for i in range(30):
        page.mouse.click(20 + i % 2 * 40, 28 if i % 4 < 2 else 32)
        page.wait_for_timeout(40)
    capture = snippet.capture
    capture.wait_for(lambda: len({c["id"] for c in capture.events("c")}) == 30, 15)

    assert all(c["h"] == href for c in capture.events("c"))
    assert max(capture.body_sizes) < MAX_BODY
    assert len(capture.batches) >= 2  # cut by size, not by count (50)
    leave(page)


def test_an_event_too_big_on_its_own_is_dropped_and_the_rest_goes(
    snippet: SnippetRun,
) -> None:
    # big-layout.html: 200 headings of 200 three-byte characters, a section
    # layout over 64 KiB by itself.
    page = snippet.open_settled(snippet.context(), "/big-layout.html")
    page.wait_for_timeout(1000)  # the first tick lays the sections out
    page.click("#b")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("c") and capture.events("a"))

    assert capture.events("l") == []
    assert len(capture.events("pv")) == 1
    assert max(capture.body_sizes) < MAX_BODY


# ---- nothing sensitive -------------------------------------------------------------

CARDS_AND_ADDRESSES = [
    "4111 1111 1111 1111",
    "4111111111111111",
    "4242424242424242",
    "5555-5555-5555-4444",
    "5555555555554444",
    "ann.lee@example.com",
    "ann.lee%40example.com",
    "ann.lee",
]


def test_card_numbers_addresses_and_typed_text_never_leave_the_page(
    snippet: SnippetRun,
) -> None:
    page = snippet.open_settled(
        snippet.context(),
        "/sensitive.html?utm_content=5555-5555-5555-4444&utm_term=ann.lee@example.com"
        "&utm_source=news",
    )
    page.evaluate(
        "for (const a of document.links) a.addEventListener('click', "
        "e => e.preventDefault())"
    )
    page.click("#editor")
    page.keyboard.type("my secret draft")
    page.click("#notes")
    page.keyboard.type("private notes")
    for target in ("#pay", "#card-link", "#mail", "#escaped", "#order", "#editor"):
        page.click(target)
    page.click("#card", position={"x": 3, "y": 3})  # holds the editable notes
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: len(capture.events("c")) == 9)

    sent = json.dumps(capture.batches)
    for secret in [*CARDS_AND_ADDRESSES, "secret draft", "private notes"]:
        assert secret not in sent
    [pv] = capture.events("pv")
    assert pv["ti"] == "Receipt for [email], card [card]"
    assert pv["u"].endswith(
        "/sensitive.html?utm_content=[card]&utm_term=[email]&utm_source=news"
    )
    clicks = {c["s"]: c for c in capture.events("c")}
    assert clicks["#pay"]["tx"] == "Pay with [card]"
    assert clicks["#card-link"]["h"] == snippet.site + "/card/[card]/confirm?x=1"
    assert clicks["#mail"]["h"] == "mailto:[email]?subject=Hi"
    assert clicks["#mail"]["tx"] == "Write to [email]"
    assert clicks["#escaped"]["h"] == snippet.site + "/u/[email]/[card]"
    # Not a card number (Luhn's check fails): the text stays as it is.
    assert clicks["#order"]["tx"].startswith("Order 4111111111111112")
    # Editable content, and an element holding some: no text at all.
    assert clicks["#editor"]["tx"] == clicks["#notes"]["tx"] == ""
    assert clicks["#card"]["tx"] == ""


# ---- delivery ----------------------------------------------------------------------

BEACON_THROWS = (
    "Navigator.prototype.sendBeacon = function () "
    "{ throw new TypeError('blocked by an extension') }"
)
BEACON_REFUSES = "Navigator.prototype.sendBeacon = function () { return false }"


@pytest.mark.parametrize(
    "beacon", [BEACON_THROWS, BEACON_REFUSES], ids=["throws", "refuses"]
)
def test_without_the_extension_a_failing_send_beacon_falls_back_to_fetch(
    snippet: SnippetRun, beacon: str
) -> None:
    context = snippet.context(extension=False, init_script=beacon)
    page = snippet.open(context, "/basic.html")
    page.click("#cta")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv") and capture.events("c"))

    assert all(c.startswith("text/plain") for c in capture.content_types)


@pytest.mark.parametrize("extension", [True, False], ids=["extension", "core-alone"])
def test_coming_back_online_sends_what_waited(
    snippet: SnippetRun, extension: bool
) -> None:
    context = snippet.context(extension=extension)
    page = snippet.open_settled(context, "/basic.html")
    capture = snippet.capture
    capture.wait_for(lambda: capture.mode_requests)
    context.set_offline(True)
    page.click("#cta")
    page.wait_for_timeout(6000)  # past the usual flush of about 5 s
    assert capture.events("c") == []

    context.set_offline(False)  # the online event; the page stays
    capture.wait_for(lambda: capture.events("c"), timeout=2.0)
    assert len(capture.events("pv")) >= 1
    leave(page)


def test_urls_are_cut_before_a_partial_percent_escape(snippet: SnippetRun) -> None:
    site = snippet.site
    # A utm value whose 2,000th character is the "%" of "%E2%82%AC" (euro sign).
    query = "/basic.html?utm_content="
    padding = "x" * (URL_LIMIT - 1 - 15 - len(site + query))
    url = site + query + padding + "%E2%82%AC" * 10
    assert url[URL_LIMIT - 1] == "%"
    page = snippet.open(snippet.context(), url.removeprefix(site))
    # A link whose 1,999th and 2,000th characters are "%E".
    href = site + "/a/" + "y" * (URL_LIMIT - 2 - 15 - len(site + "/a/")) + "%E2" * 9
    assert href[URL_LIMIT - 2 : URL_LIMIT] == "%E"
    page.evaluate(
        """href => {
            const a = Object.assign(document.createElement('a'), {href, id: 'far'});
            a.textContent = 'Far away';
            a.addEventListener('click', e => e.preventDefault());
            document.body.prepend(a);
        }""",
        href,
    )
    page.click("#far")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("pv") and capture.events("c"))

    [pv] = capture.events("pv")
    [click] = capture.events("c")
    for sent, whole in ((pv["u"], url), (click["h"], href)):
        assert len(sent) >= URL_LIMIT - 2 and whole.startswith(sent)
        assert not PARTIAL_ESCAPE.search(sent), sent[-6:]
