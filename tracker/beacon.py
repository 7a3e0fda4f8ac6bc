"""The beacon wire format: parse and validate a batch, or say exactly what is wrong.

Owns: the schema of ``POST /e`` bodies (``docs/beacon.md`` documents it key by key)
and turning bytes into typed, frozen events. Pure: no database, no Flask, no clock
except through the ``now`` argument, so it is tested without either.

Validation is strict (no coercion of ``"3"`` to ``3``, unknown keys refused) because
the collector is open to the whole internet: whatever passes here is safe to store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from resonance.core.sizes import (
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
Text = Annotated[str, StringConstraints(max_length=60)]


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
    """One ``POST /e`` body."""

    s: SiteKey
    v: Id | None = None
    o: Id | None = None
    i: Literal[1] | None = None
    e: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class BeaconError(Exception):
    """A refused beacon: ``status`` is the 4xx to answer, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse(body: bytes, now: datetime | None = None) -> Batch:
    """Validate ``body`` and return the batch, or raise :class:`BeaconError` (400)."""
    # PostgreSQL cannot store NUL in text, and no real page sends one.
    if b"\\u0000" in body:
        raise BeaconError(400, "strings must not contain NUL characters")
    try:
        batch = Batch.model_validate_json(body)
    except ValidationError as exc:
        raise BeaconError(400, _describe(exc)) from None
    check_clock(batch, now or datetime.now(UTC))
    return batch


def check_clock(batch: Batch, now: datetime) -> None:
    """Refuse a batch holding an event stamped too far in the future."""
    limit_ms = (now + FUTURE_TOLERANCE).timestamp() * 1000
    for index, event in enumerate(batch.e):
        if event.ts > limit_ms:
            raise BeaconError(400, f"e[{index}].ts: timestamp is in the future")


def _describe(exc: ValidationError) -> str:
    """The first validation error as ``e[3].x: Input should be …``."""
    error = exc.errors(include_url=False)[0]
    path, previous = "", None
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        # pydantic names the union member after an event's index: skip it.
        elif not (isinstance(previous, int) and part in _EVENT_TAGS):
            path += f".{part}" if path else str(part)
        previous = part
    message = error["msg"]
    if error["type"] == "too_long" and path == "e":
        message = f"at most {MAX_EVENTS} events in a batch"
    return f"{path}: {message}" if path else message


_EVENT_TAGS = {"pv", "c", "s", "l", "a", "id"}
