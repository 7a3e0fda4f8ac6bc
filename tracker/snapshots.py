"""Full-page snapshots of a content item, for drawing click heatmaps on.

Owns: opening a page in headless Chromium at a few widths, taking a full-page PNG
at each, and recording where the elements that clicks refer to sit on it (page
coordinates), as ``Snapshot`` and ``SnapshotElement`` rows. Clicks are stored by
selector and position inside the element's box, so a heatmap places them on the
box measured here, whatever the visitor's own layout was.

The snapshot's user agent says "HeadlessChrome" (set on each context, whatever
the browser it was given pretends to be), so when the page carries the Resonance
snippet its beacons are stored as bot hits, never as visitors: taking a snapshot
does not inflate the figures it is meant to illustrate (other analytics on the
page see a headless browser too).

Must not import: Flask, the dashboard. Playwright is imported only when a
snapshot is taken, so the rest of the tracker works without it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.models import Click, PageView, Snapshot, SnapshotElement
from tracker import summaries
from tracker.contents import put_content
from tracker.urls import clean_url

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEFAULT_WIDTHS = (375, 768, 1440)
VIEWPORT_HEIGHT = 800
MOBILE_BELOW = 500  # viewports narrower than this are emulated as a phone
MAX_HEIGHT = 16_000  # px; longer pages are cut (PNG size, and nobody scrolls that far)
MAX_SELECTORS = 2_000  # the most clicked ones, if a page has more
LOAD_TIMEOUT_MS = 30_000
IDLE_TIMEOUT_MS = 5_000

# Scroll down a viewport at a time (lazy images and reveal-on-scroll sections
# load), never past the height cap, then back to the top.
_SCROLL_THROUGH = """async (maxHeight) => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 100));
  const bottom = () => Math.min(document.documentElement.scrollHeight, maxHeight);
  for (let y = 0; y < bottom(); y += window.innerHeight) {
    window.scrollTo(0, y);
    await pause();
  }
  window.scrollTo(0, 0);
  await pause();
}"""

# The box and human name of each selector's first element, in page coordinates.
# A selector the browser rejects, or one that matches nothing or nothing
# rendered, is left out. The name is what a person reading the page would call
# the element: its visible text, else aria-label, alt (its own or an image
# child's), title, a data-* label, a field's label or placeholder.
_BOXES = """([selectors, cap]) => {
  const squash = (value) => (value || "").replace(/\\s+/g, " ").trim();
  const DATA = ["data-label", "data-name", "data-title", "data-testid", "data-test"];
  const name = (element) => {
    const tag = element.tagName.toLowerCase();
    const button = tag === "input" && /^(submit|button|reset)$/.test(element.type);
    const field = /^(input|textarea|select)$/.test(tag);
    const found = [
      field ? "" : element.innerText,
      button ? element.value : "",
      element.getAttribute("aria-label"),
      element.getAttribute("alt"),
      (element.querySelector("img[alt]") || { alt: "" }).alt,
      element.getAttribute("title"),
      ...DATA.map((attribute) => element.getAttribute(attribute)),
      element.labels && element.labels.length ? element.labels[0].innerText : "",
      element.getAttribute("placeholder"),
    ].map(squash).find((text) => text);
    return (found || "").slice(0, cap).trim();
  };
  const boxes = {};
  for (const selector of selectors) {
    try {
      const element = document.querySelector(selector);
      if (!element) continue;
      const rect = element.getBoundingClientRect();
      if (!rect.width && !rect.height) continue;
      boxes[selector] = [
        rect.left + window.scrollX, rect.top + window.scrollY, rect.width, rect.height,
        name(element),
      ];
    } catch (error) {
      // an invalid selector: it names no element
    }
  }
  return boxes;
}"""


# Web fonts change line breaks, hence boxes: wait for them, but not forever.
_FONTS_READY = """(timeout) => Promise.race([
  document.fonts ? document.fonts.ready : Promise.resolve(),
  new Promise((resolve) => setTimeout(resolve, timeout)),
]).then(() => true)"""


LABEL_LEN = 120  # SnapshotElement.label

# What went wrong, in words a person can act on (the dashboard shows them).
ADVICE = {
    "http": "the page must answer 200 to a plain GET: open it in a browser and "
    "check that it is public (no login) and not an error page",
    "timeout": "the page did not finish loading in time: check that it loads "
    "quickly from the server running Resonance",
    "unreachable": "the page must be reachable from the server running "
    "Resonance: check the site's origin (its host name and port) and that the "
    "site is up",
    "browser": "install Chromium and Playwright on the server running "
    "Resonance (apt-get install chromium; pip install playwright)",
    "other": "try again; if it fails again, open the page in a browser on the "
    "server running Resonance",
}
_UNREACHABLE = ("ERR_CONNECTION_REFUSED", "ERR_NAME_NOT_RESOLVED", "ERR_ADDRESS")
_UNREACHABLE += ("ERR_CONNECTION", "ERR_INTERNET_DISCONNECTED", "ERR_SSL", "ERR_CERT")


class SnapshotError(Exception):
    """The page could not be snapshotted (no browser, an HTTP error, a timeout).

    ``kind`` is one of :data:`ADVICE`'s keys, ``status`` the HTTP status when the
    page answered one, ``url`` the address that was loaded: the dashboard says
    which URL, what answered and what to do."""

    def __init__(
        self, message: str, *, url: str = "", kind: str = "other", status: int = 0
    ) -> None:
        super().__init__(message)
        self.url = url
        self.kind = kind if kind in ADVICE else "other"
        self.status = status

    @property
    def advice(self) -> str:
        return ADVICE[self.kind]


def failure_kind(message: str) -> str:
    """A Playwright error's kind: timeout, unreachable (DNS, refused) or other."""
    if "Timeout" in message and "exceeded" in message:
        return "timeout"
    if any(code in message for code in _UNREACHABLE):
        return "unreachable"
    return "other"


@dataclass(frozen=True)
class Capture:
    """One width's screenshot and element boxes, before anything is stored."""

    width: int
    png: bytes
    title: str
    boxes: dict[str, tuple[float, float, float, float]]
    labels: dict[str, str] = field(default_factory=dict)  # selector: human name

    @property
    def height(self) -> int:
        return png_size(self.png)[1]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def clicked_selectors(session: Session, content_id: int) -> list[str]:
    """The distinct selectors clicks on this content item refer to, most clicked
    first (at most ``MAX_SELECTORS``)."""
    return list(
        session.scalars(
            select(Click.selector)
            .where(Click.content_id == content_id)
            .group_by(Click.selector)
            .order_by(func.count().desc(), Click.selector)
            .limit(MAX_SELECTORS)
        )
    )


def take_snapshots(
    session: Session,
    site_id: int,
    url: str,
    *,
    widths: Sequence[int] = DEFAULT_WIDTHS,
    directory: Path,
    browser: Browser | None = None,
    report: Callable[[int, int, str], None] | None = None,
    load_url: str | None = None,
) -> list[Snapshot]:
    """Snapshot ``url`` at each width; PNGs go to ``directory``.

    ``load_url`` is where the page is loaded from when that is not ``url``
    itself (the demo at seed time, served on a free port while its content
    items carry the origin ``resonance serve`` will use).

    The content item is the site's one for the canonical form of ``url``
    (created if absent). ``browser`` is an already launched Playwright browser
    (tests, the dashboard); without one, Debian's Chromium is launched and closed
    again. ``report(done, total, note)`` is told after each width. Commits
    the content item before loading the page (no write turn is held while a
    browser waits on a site, perhaps this very app), not the snapshots; on
    failure no file is left behind.
    """
    now = naive_utc()
    content_id = put_content(session, site_id, clean_url(url), "", now)
    selectors = clicked_selectors(session, content_id)
    # Release the write turn while the page loads: on SQLite the page's own
    # beacons (the demo's, served by this app) wait for it otherwise.
    session.commit()
    source = load_url or url
    if browser is None:
        captures = _capture_in_own_browser(source, widths, selectors, report)
    else:
        captures = _capture_all(browser, source, widths, selectors, report)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        snapshots = [
            _store(session, content_id, shot, directory, now, written)
            for shot in captures
        ]
        if captures and captures[0].title:
            put_content(session, site_id, clean_url(url), captures[0].title, now)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return snapshots


def _capture_in_own_browser(
    url: str,
    widths: Sequence[int],
    selectors: list[str],
    report: Callable[[int, int, str], None] | None,
) -> list[Capture]:
    """Launch Chromium, capture, close it, on a thread of its own: Playwright's
    sync API refuses a thread where an asyncio loop runs (an async server, a
    notebook, or another sync Playwright already started on that thread)."""

    def launched_and_captured() -> list[Capture]:
        with launched_browser() as own:
            return _capture_all(own, url, widths, selectors, report)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as pool:
        return pool.submit(launched_and_captured).result()


def _capture_all(
    browser: Browser,
    url: str,
    widths: Sequence[int],
    selectors: list[str],
    report: Callable[[int, int, str], None] | None,
) -> list[Capture]:
    """One capture per width, reporting each as it is taken."""
    captures = []
    for done, width in enumerate(widths, 1):
        captures.append(capture(browser, url, width, selectors))
        if report is not None:
            shot = captures[-1]
            report(done, len(widths), f"{width} px: {shot.height} px high")
    return captures


def _store(
    session: Session,
    content_id: int,
    shot: Capture,
    directory: Path,
    now: datetime,
    written: list[Path],
) -> Snapshot:
    name = f"{content_id}-{shot.width}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.png"
    path = directory / name
    path.write_bytes(shot.png)
    written.append(path)
    elements = {
        selector: (*box, shot.labels.get(selector, "")[:LABEL_LEN])
        for selector, box in shot.boxes.items()
        if box[1] < shot.height  # below the height cap: not on the picture
    }
    snapshot = add_snapshot(
        session, content_id, (shot.width, shot.height), now, name, elements
    )
    return snapshot


def add_snapshot(
    session: Session,
    content_id: int,
    size: tuple[int, int],
    taken_at: datetime,
    image: str,
    elements: dict[str, tuple[float, float, float, float, str]],
) -> Snapshot:
    """The ``Snapshot`` row of an image already in the snapshot folder, and its
    elements (selector → left, top, width, height, label); flushed. The item's
    days are marked changed: its click grid is placed on the newest snapshot."""
    snapshot = Snapshot(
        content_id=content_id,
        width_px=size[0],
        height_px=size[1],
        taken_at=taken_at,
        image=image,
    )
    session.add(snapshot)
    session.flush()
    session.add_all(
        SnapshotElement(
            snapshot_id=snapshot.id,
            selector=selector,
            left_px=left,
            top_px=top,
            width_px=width,
            height_px=height,
            label=label,
        )
        for selector, (left, top, width, height, label) in elements.items()
    )
    summaries.changed(session, PageView.content_id == content_id)
    session.flush()
    return snapshot


def user_agent(version: str, *, mobile: bool) -> str:
    """A Chromium user agent that says it is headless (a bot to the collector);
    a phone's at phone widths, for sites that serve phones other HTML."""
    platform = "Linux; Android 10; K" if mobile else "X11; Linux x86_64"
    kind = "Mobile Safari" if mobile else "Safari"
    return (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"HeadlessChrome/{version} {kind}/537.36"
    )


def capture(browser: Browser, url: str, width: int, selectors: list[str]) -> Capture:
    """Load ``url`` at ``width`` and take its full-page PNG and element boxes."""
    mobile = width < MOBILE_BELOW
    context = browser.new_context(
        viewport={"width": width, "height": VIEWPORT_HEIGHT},
        is_mobile=mobile,
        has_touch=mobile,
        device_scale_factor=1,
        user_agent=user_agent(browser.version, mobile=mobile),
    )
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        if response is not None and response.status >= 400:
            raise SnapshotError(
                f"{url} answered HTTP {response.status}",
                url=url,
                kind="http",
                status=response.status,
            )
        _settle(page)
        page.evaluate(_SCROLL_THROUGH, MAX_HEIGHT)
        _settle(page)
        boxes = page.evaluate(_BOXES, [selectors, LABEL_LEN])
        height = page.evaluate("document.documentElement.scrollHeight")
        clip = None
        if height > MAX_HEIGHT:
            clip = {"x": 0, "y": 0, "width": width, "height": MAX_HEIGHT}
        png = page.screenshot(full_page=True, clip=clip, animations="disabled")
        title = page.title()
    except SnapshotError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("playwright"):
            first_line = str(exc).strip().splitlines()[0] if str(exc) else ""
            raise SnapshotError(
                f"{url} at {width}px: {first_line}",
                url=url,
                kind=failure_kind(first_line),
            ) from exc
        raise
    finally:
        context.close()
    return Capture(
        width,
        png,
        title,
        {s: tuple(box[:4]) for s, box in boxes.items()},
        {s: box[4] for s, box in boxes.items()},
    )


def _settle(page: Page) -> None:
    """Wait for the network to be quiet and fonts loaded, a few seconds at most:
    pages that poll or stream never go idle, and still get their snapshot."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_load_state("networkidle", timeout=IDLE_TIMEOUT_MS)
    except PlaywrightTimeout:
        pass
    page.evaluate(_FONTS_READY, IDLE_TIMEOUT_MS)


@contextmanager
def launched_browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, closed on exit."""
    if not Path(CHROMIUM).exists():
        raise SnapshotError(
            f"{CHROMIUM} is missing: apt-get install chromium", kind="browser"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SnapshotError(
            "Playwright is missing: pip install playwright", kind="browser"
        ) from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
