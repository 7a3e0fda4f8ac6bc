"""Event rows: what page views, clicks, scrolls, layouts and attention become.

Owns: the shape of the ``pageviews``, ``clicks``, ``page_sections``,
``attention_bands`` and ``bot_hits`` rows and the statements' column lists and
conflict clauses, kept apart from their execution (``tracker.ingest`` alone runs
them). Folding happens here: a page view's scroll depth and active time only ever
rise, a section row gets its layout and its attention whichever arrives first,
and a band keeps the most time it was sent, so one row per key leaves a group
however many events touched it.

URL and text hygiene is memoised per process: page URLs, referrers, titles and
link texts repeat across the page views of the same pages, and the hygiene
functions are pure.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from resonance.core.dialect import Columns
from tracker.beacon import AttentionEvent, ClickEvent, LayoutEvent, PageViewEvent
from tracker.urls import (
    BadUrl,
    canonical,
    clean_href,
    clean_referrer,
    redact,
    stored_url,
    url_hash,
    utm,
)

if TYPE_CHECKING:
    from tracker.visits import Visit

clean_page_url = lru_cache(maxsize=4096)(stored_url)
_clean_href = lru_cache(maxsize=4096)(clean_href)
_clean_referrer = lru_cache(maxsize=4096)(clean_referrer)
_redact = lru_cache(maxsize=8192)(redact)

UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=4096)
def page_facts(url: str) -> tuple[str, str, dict[str, str]]:
    """Canonical URL, its hash and the utm tags of a cleaned page URL (read only)."""
    canon = canonical(url)
    return canon, url_hash(canon), utm(url)


def device_class(viewport_width: int) -> str:
    """mobile < 768 ≤ tablet < 1024 ≤ desktop, from the CSS viewport width."""
    if viewport_width < 768:
        return "mobile"
    return "tablet" if viewport_width < 1024 else "desktop"


def event_time(ts_ms: int, now: datetime) -> datetime:
    """The event's time, naive UTC, never later than ``now`` (naive: clock skew)."""
    at = _EPOCH + timedelta(milliseconds=ts_ms)
    return at if at < now else now


def scroll_pct(depth: int, height: int) -> float:
    return round(min(depth / height, 1.0) * 100, 1) if height else 0.0


@dataclass(eq=False)
class View:
    """A page view a group refers to: stored (``id`` known) or new (``row``)."""

    site_id: int
    event_id: str
    id: int | None = None
    session_id: int | None = None
    content_id: int | None = None
    row: dict | None = None  # the page view to insert, with its maxima folded in
    content_key: tuple[int, str] | None = None
    visit: Visit | None = None
    # Maxima sent for a stored page view (0 keeps the stored value).
    scroll_px: int = 0
    scroll_pct: float = 0.0
    active_ms: int = 0
    raised: bool = False

    def raise_scroll(self, px: int, pct: float) -> None:
        if self.row is not None:
            self.row["max_scroll_px"] = max(self.row["max_scroll_px"], px)
            self.row["max_scroll_pct"] = max(self.row["max_scroll_pct"], pct)
        else:
            self.scroll_px = max(self.scroll_px, px)
            self.scroll_pct = max(self.scroll_pct, pct)
            self.raised = True

    def raise_active(self, ms: int) -> None:
        if self.row is not None:
            self.row["active_ms"] = max(self.row["active_ms"], ms)
        else:
            self.active_ms = max(self.active_ms, ms)
            self.raised = True


def new_view(site_id: int, event: PageViewEvent, url: str, at: datetime) -> View:
    """A page view seen for the first time, its row ready but for its ids."""
    canon, key, tags = page_facts(url)
    view = View(site_id, event.id, content_key=(site_id, key))
    view.row = {
        "site_id": site_id,
        "event_id": event.id,
        "viewed_at": at,
        "url": url,
        "title": _redact(event.ti)[:1024],
        "referrer": _clean_referrer(event.r),
        **{name: tags.get(name) for name in UTM_COLUMNS},
        "viewport_w": event.vw,
        "viewport_h": event.vh,
        "doc_h": event.dh,
        "device": device_class(event.vw),
        "max_scroll_px": min(event.vh, event.dh),
        "max_scroll_pct": scroll_pct(event.vh, event.dh),
        "active_ms": 0,
        "_canon": canon,
    }
    return view


# --- page_sections: layout and attention folded into one row per section ---------

Sections = dict[tuple[View, int], dict]


def fold_layout(sections: Sections, view: View, event: LayoutEvent) -> None:
    for index, (level, heading, top, height) in enumerate(event.sec):
        _section(sections, view, index).update(
            level=level, heading=_redact(heading)[:200], top_px=top, height_px=height
        )


def fold_attention(
    sections: Sections, bands: Bands, view: View, event: AttentionEvent
) -> None:
    view.raise_active(event.ms)
    for index, ms in event.a:  # a hostile batch may repeat an index
        row = _section(sections, view, index)
        row["active_ms"] = max(row["active_ms"], ms)
    for band, ms in event.b:
        if ms > 0:  # a band never on screen is no row
            key = (view, band)
            bands[key] = max(bands.get(key, 0), ms)


def _section(sections: Sections, view: View, index: int) -> dict:
    return sections.setdefault(
        (view, index),
        {"level": None, "heading": None, "top_px": None, "height_px": None,
         "active_ms": 0},
    )  # fmt: skip


SECTION_COLUMNS: Columns = (
    ("pageview_id", "int"), ("idx", "int"), ("level", "int"), ("heading", "text"),
    ("top_px", "int"), ("height_px", "int"), ("active_ms", "int"),
)  # fmt: skip
_LAYOUT = ("level", "heading", "top_px", "height_px")


def section_rows(sections: Sections) -> list[tuple]:
    return sorted(
        (view.id, idx, row["level"], row["heading"], row["top_px"],
         row["height_px"], row["active_ms"])
        for (view, idx), row in sections.items()
    )  # fmt: skip


def section_upsert(greatest: str) -> str:
    """Attention-only rows carry no layout (NULL): the stored one is kept."""
    keep = ", ".join(
        f"{name} = coalesce(excluded.{name}, page_sections.{name})" for name in _LAYOUT
    )
    return (
        f"ON CONFLICT (pageview_id, idx) DO UPDATE SET {keep}, active_ms ="
        f" {greatest}(page_sections.active_ms, excluded.active_ms)"
    )


# --- attention_bands: active time per 100 px band, the maximum sent ---------------

Bands = dict[tuple[View, int], int]
BAND_COLUMNS: Columns = (("pageview_id", "int"), ("band", "int"), ("ms", "int"))


def band_rows(bands: Bands) -> list[tuple]:
    return sorted((view.id, band, ms) for (view, band), ms in bands.items())


def band_upsert(greatest: str) -> str:
    return (
        "ON CONFLICT (pageview_id, band) DO UPDATE SET"
        f" ms = {greatest}(attention_bands.ms, excluded.ms)"
    )


# --- pageviews ---------------------------------------------------------------------

VIEW_COLUMNS: Columns = (
    ("id", "int"), ("site_id", "int"), ("event_id", "text"), ("visitor_id", "int"),
    ("viewed_at", "timestamp"), ("url", "text"), ("title", "text"),
    ("referrer", "text"), ("utm_source", "text"), ("utm_medium", "text"),
    ("utm_campaign", "text"), ("utm_term", "text"), ("utm_content", "text"),
    ("viewport_w", "int"), ("viewport_h", "int"), ("doc_h", "int"),
    ("device", "text"), ("max_scroll_px", "int"), ("max_scroll_pct", "float8"),
    ("active_ms", "int"), ("session_id", "int"), ("content_id", "int"),
)  # fmt: skip


def view_rows(new: list[View]) -> list[tuple]:
    """New page views under their reserved ids."""
    return [
        (
            view.id,
            *(view.row[name] for name, _ in VIEW_COLUMNS[1:-2]),
            view.session_id,
            view.content_id,
        )
        for view in new
    ]


RAISE_COLUMNS: Columns = (
    ("v_id", "int"), ("v_px", "int"), ("v_pct", "float8"), ("v_ms", "int"),
)  # fmt: skip


def raised_views(views: list[View]) -> list[tuple]:
    """Stored page views whose scroll depth or active time a group raises."""
    raised = sorted((v for v in views if v.row is None and v.raised), key=_by_id)
    return [(v.id, v.scroll_px, float(v.scroll_pct), v.active_ms) for v in raised]


def raise_sets(greatest: str) -> str:
    return (
        f"max_scroll_px = {greatest}(max_scroll_px, u.v_px),"
        f" max_scroll_pct = {greatest}(max_scroll_pct, u.v_pct),"
        f" active_ms = {greatest}(active_ms, u.v_ms)"
    )


def _by_id(view: View) -> int:
    return view.id


# --- clicks ------------------------------------------------------------------------

Clicks = dict[tuple[int, str], tuple[ClickEvent, View, datetime]]
CLICK_COLUMNS: Columns = (
    ("site_id", "int"), ("event_id", "text"), ("pageview_id", "int"),
    ("content_id", "int"), ("clicked_at", "timestamp"), ("x", "int"), ("y", "int"),
    ("viewport_w", "int"), ("selector", "text"), ("fx", "float8"), ("fy", "float8"),
    ("tag", "text"), ("text", "text"), ("href", "text"), ("interactive", "bool"),
    ("dead", "bool"), ("error", "bool"),
)  # fmt: skip
CLICK_INSERT = "ON CONFLICT (site_id, event_id) DO NOTHING"


def click_rows(clicks: Clicks) -> list[tuple]:
    return [
        (
            view.site_id, c.id, view.id, view.content_id, at, c.x, c.y, c.vw,
            c.s, float(c.fx), float(c.fy), c.tg, _redact(c.tx)[:60],
            _clean_href(c.h), c.in_, c.dd, c.er,
        )
        for _key, (c, view, at) in sorted(clicks.items(), key=lambda i: i[0])
    ]  # fmt: skip


# --- bot_hits ----------------------------------------------------------------------

BOT_COLUMNS: Columns = (
    ("site_id", "int"), ("seen_at", "timestamp"), ("user_agent", "text"),
    ("url", "text"),
)  # fmt: skip


def bot_row(site_id: int, url: str | None, user_agent: str, at: datetime) -> tuple:
    """One row per bot beacon, apart from visitors; a bad URL is left out."""
    try:
        cleaned = clean_page_url(url) if url else None
    except BadUrl:
        cleaned = None
    return (site_id, at, (user_agent or "")[:256], cleaned)
