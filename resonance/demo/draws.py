"""Drawing from the generator's seeded ``random.Random``: ids, weighted picks.

Every module of the beacon generator draws through one ``Random`` handed down to
it, never the global one, so that the same seed gives the same beacons.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

ID_ALPHABET = string.ascii_letters + string.digits + "-_"
ID_LENGTH = 16

T = TypeVar("T")


def new_id(rng: random.Random) -> str:
    """A 16-character id of ``[A-Za-z0-9_-]``, like the snippet's."""
    return "".join(rng.choices(ID_ALPHABET, k=ID_LENGTH))


def pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    """One item of ``(item, weight)`` pairs, in proportion to its weight."""
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def ms(moment: datetime) -> int:
    """Epoch milliseconds, as the snippet's ``Date.now()``."""
    return int(moment.timestamp() * 1000)
