"""Attention in a real Chromium against the fake collector
(tests/snippet_capture.py): the sections of a page view share its active time
by the part of the viewport each covers, the 100 px bands of the page agree
with them, and time with the window blurred is not active."""

from __future__ import annotations

import pytest
from snippet_capture import VIEWPORT, SnippetRun

pytestmark = pytest.mark.browser

BAND_PX = 100


def last_attention(snippet: SnippetRun) -> dict:
    capture = snippet.capture
    capture.wait_for(lambda: capture.events("a"))
    return max(capture.events("a"), key=lambda e: e["ms"])


def close_to(value: float, expected: float, ms: int) -> bool:
    """Within 1 % of the page view's active time, and a few ms of rounding."""
    return abs(value - expected) <= ms * 0.01 + 5


def test_sections_add_up_to_the_active_time_and_agree_with_the_bands(
    snippet: SnippetRun,
) -> None:
    # long.html: four sections from the top (0) to the end of the page, on
    # 100 px boundaries: 0-1200, 1200-2400, 2400-3600, 3600-5000.
    page = snippet.open(snippet.context(), "/long.html")
    page.mouse.move(600, 400)
    page.wait_for_timeout(2200)  # the top: the first section alone
    for y in (1000, 1700, 3000, 4200):  # straddling two sections, then others
        page.evaluate("y => scrollTo(0, y)", y)
        page.mouse.move(600, 300 + y % 200)  # a reader, still there
        page.wait_for_timeout(1300)
    page.close(run_before_unload=True)
    attention = last_attention(snippet)
    [layout] = snippet.capture.events("l")

    ms = attention["ms"]
    sections = dict(attention["a"])
    bands = dict(attention["b"])
    assert ms >= 6000
    # Every active millisecond went to the sections on screen, shared.
    assert close_to(sum(sections.values()), ms, ms)
    assert len(sections) == 4 and all(sections.values())
    # A band wholly on screen got all of it: the viewport holds 8 bands.
    viewport_bands = VIEWPORT["height"] / BAND_PX
    assert close_to(sum(bands.values()) / viewport_bands, ms, ms)
    assert max(bands.values()) <= ms
    assert bands[0] >= 2000  # on screen the whole first 2 s
    # A section's time is that of its bands, weighted as the sections are.
    for i, (_, _, top, height) in enumerate(layout["sec"]):
        spanned = range(top // BAND_PX, (top + height) // BAND_PX)
        from_bands = sum(bands.get(band, 0) for band in spanned) / viewport_bands
        assert close_to(sections[i], from_bands, ms), (i, sections[i], from_bands)


BLUR = """() => {
  document.hasFocus = () => false;  // another window has the focus
  dispatchEvent(new FocusEvent('blur'));
}"""
FOCUS = """() => {
  delete document.hasFocus;  // Document.prototype's again
  dispatchEvent(new FocusEvent('focus'));
}"""


def test_time_with_the_window_blurred_is_not_active(snippet: SnippetRun) -> None:
    page = snippet.open(snippet.context(), "/long.html")
    page.mouse.move(600, 400)
    page.wait_for_timeout(1000)  # focused: active
    page.evaluate(BLUR)
    for step in range(10):  # 5 s: the pointer crosses the page, unfocused
        page.mouse.move(300 + step * 20, 400)
        page.wait_for_timeout(500)
    page.evaluate(FOCUS)
    page.wait_for_timeout(300)  # focused again: active
    page.close(run_before_unload=True)
    attention = last_attention(snippet)

    assert 1000 <= attention["ms"] <= 2000
    assert close_to(sum(ms for _, ms in attention["a"]), attention["ms"], 1000)
