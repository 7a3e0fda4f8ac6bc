"""Builders of snippet-shaped beacons for tests (keys as in docs/beacon.md)."""

from __future__ import annotations

import itertools
import time

_ids = itertools.count(1)
NOW_MS = int(time.time() * 1000)


def new_id(prefix: str = "ev") -> str:
    """A fresh event id of the documented shape."""
    return f"{prefix}{next(_ids):010d}"


def pv(
    pid: str | None = None,
    *,
    url: str = "https://blog.example.com/post?utm_source=news&ref=x#intro",
    ts: int | None = None,
    **fields,
) -> dict:
    pid = pid or new_id("pv")
    event = {
        "t": "pv",
        "id": pid,
        "p": pid,
        "ts": NOW_MS if ts is None else ts,
        "u": url,
        "r": "https://www.google.com/search?q=heatmaps",
        "ti": "A post",
        "vw": 1440,
        "vh": 900,
        "dh": 3000,
    }
    return event | fields


def click(pid: str, **fields) -> dict:
    event = {
        "t": "c",
        "id": new_id("ck"),
        "p": pid,
        "ts": NOW_MS + 1000,
        "x": 300,
        "y": 420,
        "vw": 1440,
        "s": "#cta",
        "fx": 0.25,
        "fy": 0.5,
        "tg": "a",
        "tx": "Book a demo",
        "h": "https://blog.example.com/demo?utm_medium=cta",
        "in": True,
    }
    return event | fields


def scroll(pid: str, depth: int, height: int = 3000, **fields) -> dict:
    event = {
        "t": "s",
        "id": new_id("sc"),
        "p": pid,
        "ts": NOW_MS + 2000,
        "d": depth,
        "dh": height,
    }
    return event | fields


def layout(pid: str, sections: list | None = None, **fields) -> dict:
    sections = sections or [
        [1, "A post", 0, 800],
        [2, "Why it matters", 800, 1200],
        [2, "How to start", 2000, 1000],
    ]
    event = {
        "t": "l",
        "id": new_id("ly"),
        "p": pid,
        "ts": NOW_MS + 100,
        "sec": sections,
    }
    return event | fields


def attention(pid: str, ms: int, sections: list, **fields) -> dict:
    event = {
        "t": "a",
        "id": new_id("at"),
        "p": pid,
        "ts": NOW_MS + 3000,
        "ms": ms,
        "a": sections,
    }
    return event | fields


def identify(pid: str, email: str, **fields) -> dict:
    event = {"t": "id", "id": new_id("id"), "p": pid, "ts": NOW_MS + 4000, "em": email}
    return event | fields


def batch(*events: dict, v: str | None = "visitor0001", s: str = "blog", **extra):
    body = {"s": s, "e": list(events)} | extra
    if v is not None:
        body["v"] = v
    return body
