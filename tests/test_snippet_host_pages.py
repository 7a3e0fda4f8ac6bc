"""The snippet on the pages hosts really make, in a real Chromium against the
fake collector (tests/snippet_capture.py): single-page apps that set the title
after navigating, the tag included twice, a host's own ``window.resonance``."""

from __future__ import annotations

import pytest
from snippet_capture import SnippetRun, leave

pytestmark = pytest.mark.browser


def test_single_page_app_views_carry_the_title_the_app_set(
    snippet: SnippetRun,
) -> None:
    page = snippet.open(snippet.context(), "/spa.html")
    # spa.html's router: pushState, then the route sets its title; going back,
    # its popstate listener sets the title again.
    page.evaluate("go('/app/pricing', 'Pricing')")
    page.wait_for_timeout(100)
    page.evaluate("go('/app/blog', 'Blog')")
    page.evaluate("history.back()")
    page.wait_for_function("location.pathname === '/app/pricing'")
    page.wait_for_timeout(100)
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: len(capture.events("pv")) == 4)

    views = sorted(capture.events("pv"), key=lambda pv: pv["ts"])
    titles = [(pv["u"].removeprefix(snippet.site), pv["ti"]) for pv in views]
    assert titles == [
        ("/spa.html", "Single-page app"),
        ("/app/pricing", "Pricing"),
        ("/app/blog", "Blog"),
        ("/app/pricing", "Pricing"),
    ]


def test_the_tag_included_twice_counts_once(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(), "/twice.html")
    page.click("#b")
    page.evaluate("history.pushState({}, '', '/app/next')")
    page.click("#b")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: len(capture.events("c")) >= 2)

    urls = [pv["u"].removeprefix(snippet.site) for pv in capture.events("pv")]
    assert sorted(urls) == ["/app/next", "/twice.html"]
    assert len(capture.events("c")) == 2
    assert len(capture.mode_requests) == 1


def test_a_hosts_own_window_resonance_object_is_left_alone(
    snippet: SnippetRun,
) -> None:
    page = snippet.open_settled(snippet.context(), "/host-api.html")
    page.click("#b")
    page.click("#send")  # a marked form identifies without the API
    kept = page.evaluate("window.resonance")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("c") and capture.events("id"))

    assert kept == {"app": "host", "version": 3}
    assert len(capture.events("pv")) == 1
    assert [e["em"] for e in capture.events("id")] == ["host.user@example.com"]


def test_a_hosts_own_resonance_function_is_left_alone(snippet: SnippetRun) -> None:
    page = snippet.open_settled(snippet.context(), "/host-function.html")
    page.click("#b")
    doubled = page.evaluate("resonance(440)")
    leave(page)
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("c"))

    assert doubled == 880
    assert len(capture.events("pv")) == 1
