"""Read or skimmed: the expected reading time of a number of words, and the rule
(in SQL) that decides whether a page view counts as read."""

from __future__ import annotations

from sqlalchemy import BigInteger, and_, cast, or_

from resonance.core.models import Content, PageView
from tracker.catalog import WORDS_PER_MINUTE

# Read: active for at least this share of the expected reading time …
READ_SHARE_OF_EXPECTED = 0.5
# … or, when the page's length is unknown, scrolled this far and active this long.
FALLBACK_SCROLL_PCT = 75
FALLBACK_ACTIVE_MS = 30_000

READ_RULE = (
    "A page view counts as read when the reader was active for at least half the "
    f"expected reading time (the page's words ÷ {WORDS_PER_MINUTE} per minute, "
    "from the content catalog). When the page's length is not known, it counts as "
    f"read when scrolled at least {FALLBACK_SCROLL_PCT} % with at least "
    f"{FALLBACK_ACTIVE_MS // 1000} s active. Anything less is skimmed."
)


def read_condition(words, active_ms, scroll_pct):
    """SQL that is true when a page view counts as read (see :data:`READ_RULE`).

    Compared in whole milliseconds, as ``active_ms · 230 ≥ words · 30 000``, so
    that no rounding decides a borderline case; BIGINT because 24 h of active time
    times 230 overflows PostgreSQL's INTEGER.
    """
    ms_per_word_share = round(60_000 * READ_SHARE_OF_EXPECTED)
    by_words = and_(
        words > 0,
        cast(active_ms, BigInteger) * WORDS_PER_MINUTE
        >= cast(words, BigInteger) * ms_per_word_share,
    )
    by_scroll = and_(
        or_(words.is_(None), words <= 0),
        scroll_pct >= FALLBACK_SCROLL_PCT,
        active_ms >= FALLBACK_ACTIVE_MS,
    )
    return or_(by_words, by_scroll)


def reading_seconds(words: int) -> float:
    """Seconds a reader needs for ``words`` words at the catalog's reading speed:
    the expected time that sections and pages are compared with."""
    return round(words / WORDS_PER_MINUTE * 60, 1)


def expected_seconds(words: int | None) -> float | None:
    """Expected reading time of a page of ``words`` words, when known (a page
    without words has none)."""
    if not words or words <= 0:
        return None
    return reading_seconds(words)


def page_read():
    """:func:`read_condition` for a row of ``PageView`` joined to ``Content``."""
    return read_condition(Content.words, PageView.active_ms, PageView.max_scroll_pct)
