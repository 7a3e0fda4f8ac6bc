"""The beacon wire format: parse and validate a batch, or say exactly what is wrong.

Owns: the schema of ``POST /e`` bodies (``docs/beacon.md`` documents it key by key)
and turning bytes into typed, frozen events. Pure: no database, no Flask, no clock
except through the ``now`` argument, so it is tested without either.

Validation is strict (no coercion of ``"3"`` to ``3``, unknown keys refused) because
the collector is open to the whole internet: whatever passes here is safe to store.

The envelope (site key, visitor ids, a list of 1 to 500 events) is judged as a
whole; each event on its own. One bad event (an identify with ``"null"`` for an
address) is refused alone, with a :class:`Refusal` saying where and why, so it
never costs the page view and the clicks sent with it. A valid body is parsed
in one pass; only a body holding a bad event is parsed again event by event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from resonance.core.sizes import (
    CLICK_TEXT_LEN,
    EMAIL_LEN,
    EVENT_ID_LEN,
    HEADING_LEN,
    SELECTOR_LEN,
    TITLE_LEN,
    URL_LEN,
)

MAX_EVENTS = 500
MAX_SECTIONS = 200
BAND_PX = 100  # attention by depth: seconds on screen per band of this height
MAX_BANDS = 1000  # the first 100,000 px of a page
NAME_LEN = 200  # a lead's name or company from a marked form
# Client clocks drift; more than this ahead of the server is refused.
FUTURE_TOLERANCE = timedelta(minutes=5)

Id = Annotated[str, StringConstraints(pattern=rf"^[A-Za-z0-9_-]{{8,{EVENT_ID_LEN}}}$")]
SiteKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Px = Annotated[int, Field(ge=0, le=1_000_000)]
Width = Annotated[int, Field(ge=0, le=100_000)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Millis = Annotated[int, Field(ge=0, le=86_400_000)]
# Milliseconds since the epoch, from year 2000 to year 2100.
Timestamp = Annotated[int, Field(ge=946_684_800_000, le=4_102_444_800_000)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=URL_LEN)]
Text = Annotated[str, StringConstraints(max_length=CLICK_TEXT_LEN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Event(_Strict):
    id: Id
    ts: Timestamp
    p: Id


class PageViewEvent(_Event):
    """``pv``: a page view."""

    t: Literal["pv"]
    u: Url
    r: Annotated[str, StringConstraints(max_length=URL_LEN)] | None = None
    ti: Annotated[str, StringConstraints(max_length=TITLE_LEN)] = ""
    vw: Width
    vh: Width
    dh: Px


class ClickEvent(_Event):
    """``c``: a click on an element."""

    t: Literal["c"]
    x: Px
    y: Px
    vw: Width
    s: Annotated[str, StringConstraints(min_length=1, max_length=SELECTOR_LEN)]
    fx: Fraction
    fy: Fraction
    # Custom elements may hold "." and "_" (my-app.card); markup never passes.
    tg: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9._-]{0,15}$")]
    tx: Text = ""
    h: Annotated[str, StringConstraints(max_length=URL_LEN)] | None = None
    in_: bool = Field(alias="in")
    dd: bool = False
    er: bool = False


class ScrollEvent(_Event):
    """``s``: the deepest point reached so far (cumulative)."""

    t: Literal["s"]
    d: Px
    dh: Px
    # d / dh as the snippet computed it until 2026-12: accepted, not used (the
    # collector computes the fraction itself from d and dh).
    f: Fraction | None = None


Section = tuple[
    Annotated[int, Field(ge=1, le=3)],
    Annotated[str, StringConstraints(max_length=HEADING_LEN)],
    Px,
    Px,
]


class LayoutEvent(_Event):
    """``l``: the page's h1–h3 sections, once per page view."""

    t: Literal["l"]
    sec: Annotated[list[Section], Field(max_length=MAX_SECTIONS)]


SectionTime = tuple[Annotated[int, Field(ge=0, lt=MAX_SECTIONS)], Millis]


BandTime = tuple[Annotated[int, Field(ge=0, lt=MAX_BANDS)], Millis]


class AttentionEvent(_Event):
    """``a``: active time so far, on the page, per section and per band of
    ``BAND_PX`` of the page that was on screen (all cumulative)."""

    t: Literal["a"]
    ms: Millis
    a: Annotated[list[SectionTime], Field(max_length=MAX_SECTIONS)] = []
    b: Annotated[list[BandTime], Field(max_length=MAX_BANDS)] = []


class IdentifyEvent(_Event):
    """``id``: the visitor said who they are."""

    t: Literal["id"]
    em: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            to_lower=True,
            max_length=EMAIL_LEN,
            pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$",
        ),
    ]
    # From a marked form's name and company fields, when it has them.
    nm: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=NAME_LEN)
    ] = ""
    co: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=NAME_LEN)
    ] = ""


Event = Annotated[
    PageViewEvent
    | ClickEvent
    | ScrollEvent
    | LayoutEvent
    | AttentionEvent
    | IdentifyEvent,
    Field(discriminator="t"),
]


class Batch(_Strict):
    """One ``POST /e`` body (every event valid)."""

    s: SiteKey
    v: Id | None = None
    o: Id | None = None
    i: Literal[1] | None = None
    e: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class Envelope(_Strict):
    """A body whose events are still to be judged one by one."""

    s: SiteKey
    v: Id | None = None
    o: Id | None = None
    i: Literal[1] | None = None
    e: Annotated[list[Any], Field(min_length=1, max_length=MAX_EVENTS)]


_EVENT = TypeAdapter(Event)
_ID = re.compile(rf"^[A-Za-z0-9_-]{{8,{EVENT_ID_LEN}}}$")
NUL_MESSAGE = "strings must not contain NUL characters"


class BeaconError(Exception):
    """A refused beacon: ``status`` is the 4xx to answer, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Refusal:
    """One event refused while the rest of its batch is stored.

    ``index`` is its place in the body's ``e``, ``event_id`` its id when it had a
    valid one, ``field`` the key at fault ("" for the event as a whole) and
    ``reason`` the label it is counted under (``resonance.core.metrics``).
    """

    index: int
    event_id: str | None
    field: str
    message: str
    reason: str = "invalid"

    @property
    def error(self) -> str:
        """``field: message``, as the collector's answer names it."""
        return f"{self.field}: {self.message}" if self.field else self.message

    @property
    def located(self) -> str:
        """The error with the event's place: ``e[3].em: …``."""
        place = f"e[{self.index}]"
        return f"{place}.{self.error}" if self.field else f"{place}: {self.message}"

    def answer(self) -> dict[str, Any]:
        """The entry of the collector's ``refused`` list."""
        return {"i": self.index, "id": self.event_id, "error": self.error}


@dataclass(frozen=True)
class Parsed:
    """A body's valid events and the refusals of the others.

    ``batch`` holds the valid events only, in order; ``places`` is the index in
    the body's ``e`` of each of them, so that a later refusal names the event as
    the sender numbered it.
    """

    batch: Batch
    places: tuple[int, ...]
    refused: tuple[Refusal, ...] = ()

    def events(self) -> Iterable[tuple[int, Event]]:
        """Each valid event with its place in the body."""
        return zip(self.places, self.batch.e, strict=True)


def parse(body: bytes, now: datetime | None = None) -> Parsed:
    """Validate ``body``: its valid events, and a refusal for each of the others.

    Raises :class:`BeaconError` (400) for a bad envelope, or when no event is
    valid (the message is then the first event's refusal).
    """
    now = now or datetime.now(UTC)
    # PostgreSQL cannot store NUL in text, and no real page sends one: a body
    # with one is judged event by event, so only the event holding it is refused.
    if b"\\u0000" not in body:
        try:
            batch = Batch.model_validate_json(body)
        except ValidationError:
            pass  # a bad envelope or a bad event: the slow path tells which
        else:
            return _timely(batch, tuple(range(len(batch.e))), (), now)
    return _parse_each(body, now)


def whole_refusal(refused: Iterable[Refusal]) -> str:
    """The message of a batch none of whose events was valid: the first one's."""
    return min(refused, key=lambda r: r.index).located


def _parse_each(body: bytes, now: datetime) -> Parsed:
    """The envelope as a whole, then each event alone."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise BeaconError(400, _describe(exc)) from None
    if "\x00" in envelope.s:
        raise BeaconError(400, f"s: {NUL_MESSAGE}")
    events: list[Event] = []
    places: list[int] = []
    refused: list[Refusal] = []
    for index, raw in enumerate(envelope.e):
        try:
            event = _EVENT.validate_json(json.dumps(raw))
        except ValidationError as exc:
            field, message = _first_error(exc)
            refused.append(Refusal(index, _raw_id(raw), field, message))
            continue
        nul = _nul_field(event.model_dump(by_alias=True))
        if nul is not None:
            refused.append(Refusal(index, event.id, nul, NUL_MESSAGE))
            continue
        events.append(event)
        places.append(index)
    if not events:
        raise BeaconError(400, whole_refusal(refused))
    batch = Batch.model_construct(
        s=envelope.s, v=envelope.v, o=envelope.o, i=envelope.i, e=events
    )
    return _timely(batch, tuple(places), tuple(refused), now)


def _nul_field(value: Any, path: str = "") -> str | None:
    """The first field of a validated event whose text holds a NUL, or None.
    (Events are validated as the whole batch would be: in JSON mode, where a
    list is a tuple and strictness is that of the wire.)"""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, child in items:
        found = _nul_field(child, where)
        if found is not None:
            return found
    return None


def _raw_id(raw: Any) -> str | None:
    """A refused event's id, when it has one of the documented shape."""
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and _ID.match(value) else None


def _timely(
    batch: Batch, places: tuple[int, ...], refused: tuple[Refusal, ...], now: datetime
) -> Parsed:
    """Refuse the events stamped too far in the future (client clocks drift)."""
    limit_ms = (now + FUTURE_TOLERANCE).timestamp() * 1000
    if all(event.ts <= limit_ms for event in batch.e):
        return Parsed(batch, places, refused)
    kept: list[Event] = []
    kept_places: list[int] = []
    late = list(refused)
    for place, event in zip(places, batch.e, strict=True):
        if event.ts > limit_ms:
            late.append(Refusal(place, event.id, "ts", "timestamp is in the future"))
        else:
            kept.append(event)
            kept_places.append(place)
    if not kept:
        raise BeaconError(400, whole_refusal(late))
    late.sort(key=lambda r: r.index)
    return Parsed(batch.model_copy(update={"e": kept}), tuple(kept_places), tuple(late))


def _describe(exc: ValidationError) -> str:
    """The first validation error of an envelope as ``e: Input should be …``."""
    error = exc.errors(include_url=False)[0]
    path = _path(error["loc"])
    message = error["msg"]
    if error["type"] == "too_long" and path == "e":
        message = f"at most {MAX_EVENTS} events in a batch"
    return f"{path}: {message}" if path else message


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The first validation error of one event: its field and message."""
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    # pydantic names the union member first: skip it.
    if loc and loc[0] in _EVENT_TAGS:
        loc = loc[1:]
    return _path(loc), error["msg"]


def _path(loc: tuple) -> str:
    """``("sec", 0, 1)`` as ``sec[0][1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_EVENT_TAGS = {"pv", "c", "s", "l", "a", "id"}
