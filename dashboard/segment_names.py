"""Segments named for people: "reached sales (SQL or later)", "everyone else".

Owns the one wording of a segment wherever it is offered or shown (the segment
menus, the compare heading and figure, the influence and prospect pages). A
segment's value (``sales``, ``not:sales``, ``stage:mql``) is a URL's word; a
reader needs to know which stage "reached sales" means on this site, and that
"everyone else" leaves the segment out (the old "sales vs all" counted the
sales leads on both sides).

Pure: no database, no Flask, no ``tracker`` import, so that figures may use it
too (their contract forbids ``dashboard.queries`` and ``tracker``). The site's
threshold (``Site.reached_sales_stage``) is passed in.
"""

from __future__ import annotations

NOT = "not:"
STAGE = "stage:"
# Stage names as people write them; others are shown as stored.
_STAGE_NAMES = {"mql": "MQL", "sql": "SQL"}
_FIXED = {"all": "all visitors", "leads": "known leads"}


def stage_name(stage: str) -> str:
    """``sql`` → ``SQL``, ``mql`` → ``MQL``, ``customer`` → ``customer``."""
    return _STAGE_NAMES.get(stage, stage)


def reached_sales_label(reached_stage: str | None) -> str:
    """``reached sales (SQL or later)``; without a known stage, ``reached sales``."""
    if not reached_stage:
        return "reached sales"
    return f"reached sales ({stage_name(reached_stage)} or later)"


def segment_label(segment: str, reached_stage: str | None = None) -> str:
    """A segment's name for people. ``not:<s>`` reads "everyone but <s>"; a
    value that is no segment (a heading already written for people) comes back
    unchanged."""
    if segment.startswith(NOT):
        return "everyone but " + segment_label(segment[len(NOT) :], reached_stage)
    if segment == "sales":
        return reached_sales_label(reached_stage)
    if segment.startswith(STAGE):
        return "stage: " + stage_name(segment[len(STAGE) :])
    return _FIXED.get(segment, segment)


def compare_labels(
    segment: str, compare: str, reached_stage: str | None = None
) -> tuple[str, str]:
    """The two sides of a comparison: the second reads "everyone else" when it
    is exactly the page views outside the first (``sales`` vs ``not:sales``)."""
    first = segment_label(segment, reached_stage)
    outside = segment.removeprefix(NOT) if segment.startswith(NOT) else NOT + segment
    if segment != "all" and compare == outside:
        return first, "everyone else"
    return first, segment_label(compare, reached_stage)
