"""A checker of docs/beacon.md for generated batches (the demo's, the benchmark's).

It restates the documented rules on its own instead of reusing
``tracker.beacon``, so that a generator bug and a collector bug cannot cancel out.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

Batch = dict[str, Any]

ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MIN_TS = 946_684_800_000  # year 2000
EVENT_KEYS: dict[str, tuple[set[str], set[str]]] = {  # required, optional
    "pv": ({"u", "ti", "vw", "vh", "dh"}, {"r"}),
    "c": ({"x", "y", "vw", "s", "fx", "fy", "tg", "in"}, {"tx", "h", "dd", "er"}),
    "s": ({"d", "dh"}, {"f"}),
    "l": ({"sec"}, set()),
    "a": ({"ms", "a"}, {"b"}),
    "id": ({"em"}, {"nm", "co"}),
}


def is_int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def is_number(value: object, low: float, high: float) -> bool:
    return type(value) in (int, float) and low <= value <= high


def is_text(value: object, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def beacon_problems(batch: Batch, now: datetime) -> list[str]:
    """Every way ``batch`` breaks the documented rules; empty when it is valid."""
    problems = []
    if not set(batch) <= {"s", "v", "o", "i", "e"}:
        problems.append(f"batch keys {sorted(batch)}")
    if not is_text(batch.get("s"), 1, 64):
        problems.append("s must be 1-64 chars")
    if "v" in batch and not (isinstance(batch["v"], str) and ID.match(batch["v"])):
        problems.append("bad v")
    if "o" in batch and not (
        "v" in batch and isinstance(batch["o"], str) and ID.match(batch["o"])
    ):
        problems.append("o must be an id, sent with v")
    if "i" in batch and batch["i"] != 1:
        problems.append("i must be 1")
    events = batch.get("e")
    if not isinstance(events, list) or not 1 <= len(events) <= 500:
        return [*problems, "e must hold 1-500 events"]
    if len(json.dumps(batch).encode()) > 64 * 1024:
        problems.append("body over 64 KB")
    limit = (now + timedelta(minutes=5)).timestamp() * 1000
    for index, event in enumerate(events):
        problems += [f"e[{index}]: {p}" for p in event_problems(event, limit)]
    return problems


def event_problems(event: dict, ts_limit: float) -> list[str]:
    kind = event.get("t")
    if kind not in EVENT_KEYS:
        return [f"unknown type {kind!r}"]
    required, optional = EVENT_KEYS[kind]
    common = {"t", "id", "ts", "p"}
    problems = []
    if not (common | required) <= set(event) <= common | required | optional:
        problems.append(f"keys {sorted(event)}")
    for key in ("id", "p"):
        if not (isinstance(event.get(key), str) and ID.match(event[key])):
            problems.append(f"bad {key}")
    if not is_int(event.get("ts"), MIN_TS, int(ts_limit)):
        problems.append("ts out of range or in the future")
    if kind == "pv" and event.get("p") != event.get("id"):
        problems.append("pv: p must equal id")
    return problems + FIELD_CHECKS[kind](event)


def _pv(e: dict) -> list[str]:
    ok = (
        is_text(e.get("u"), 1, 2000)
        and is_text(e.get("r", ""), 0, 2000)
        and is_text(e.get("ti"), 0, 1024)
        and is_int(e.get("vw"), 0, 100_000)
        and is_int(e.get("vh"), 0, 100_000)
        and is_int(e.get("dh"), 0, 1_000_000)
    )
    return [] if ok else ["pv fields"]


def _click(e: dict) -> list[str]:
    ok = (
        is_int(e.get("x"), 0, 1_000_000)
        and is_int(e.get("y"), 0, 1_000_000)
        and is_int(e.get("vw"), 0, 100_000)
        and is_text(e.get("s"), 1, 512)
        and is_number(e.get("fx"), 0, 1)
        and is_number(e.get("fy"), 0, 1)
        and is_text(e.get("tg"), 1, 16)
        and e["tg"] == e["tg"].lower()
        and is_text(e.get("tx", ""), 0, 60)
        and is_text(e.get("h", ""), 0, 2000)
        and type(e.get("in")) is bool
        and all(e.get(flag, True) is True for flag in ("dd", "er"))  # sent if true
    )
    return [] if ok else ["c fields"]


def _scroll(e: dict) -> list[str]:
    ok = (
        is_int(e.get("d"), 0, 1_000_000)
        and is_int(e.get("dh"), 0, 1_000_000)
        and ("f" not in e or is_number(e["f"], 0, 1))  # optional since 2026-12
    )
    return [] if ok else ["s fields"]


def _layout(e: dict) -> list[str]:
    sec = e.get("sec")
    ok = isinstance(sec, list) and len(sec) <= 200
    for item in sec if ok else []:
        ok = ok and (
            isinstance(item, list)
            and len(item) == 4
            and is_int(item[0], 1, 3)
            and is_text(item[1], 0, 200)
            and is_int(item[2], 0, 1_000_000)
            and is_int(item[3], 0, 1_000_000)
        )
    return [] if ok else ["l fields"]


def _pairs(pairs: object, count: int) -> bool:
    """[[index, ms], ...]: at most ``count``, each index below it."""
    ok = isinstance(pairs, list) and len(pairs) <= count
    for pair in pairs if ok else []:
        ok = ok and (
            isinstance(pair, list)
            and len(pair) == 2
            and is_int(pair[0], 0, count - 1)
            and is_int(pair[1], 0, 86_400_000)
        )
    return ok


def _attention(e: dict) -> list[str]:
    ok = is_int(e.get("ms"), 0, 86_400_000) and _pairs(e.get("a"), 200)
    ok = ok and _pairs(e.get("b", []), 1000)  # per 100 px band, since 2026-12
    return [] if ok else ["a fields"]


def _identify(e: dict) -> list[str]:
    em = e.get("em")
    ok = is_text(em, 3, 254) and "@" in em
    ok = ok and all(is_text(e.get(key, ""), 0, 200) for key in ("nm", "co"))
    return [] if ok else ["id fields"]


FIELD_CHECKS = {
    "pv": _pv,
    "c": _click,
    "s": _scroll,
    "l": _layout,
    "a": _attention,
    "id": _identify,
}
