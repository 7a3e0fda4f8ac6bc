"""Lifecycle stages: our names, the funnel's order, and what a CRM calls them.

Owns: the stage vocabulary every part shares (the CRM API and CSV import map a
CRM's names here, sites pick their reached-sales stage from the funnel, segments
filter by stage). Pure: no database, so the CLI and the dashboard's forms may use
it freely.
"""

from __future__ import annotations

import re

STAGES = (
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "evangelist",
    "other",
    "disqualified",
)
# The funnel order for "at or beyond"; "other" and "disqualified" are off it.
FUNNEL = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
DEFAULT_REACHED_SALES = "sql"

# CRM names (compared without case, spaces, "-" or "_") → our stage.
STAGE_NAMES: dict[str, str] = {
    "subscriber": "subscriber",
    "lead": "lead",
    "marketingqualifiedlead": "mql",
    "mql": "mql",
    "salesqualifiedlead": "sql",
    "sql": "sql",
    "opportunity": "opportunity",
    "customer": "customer",
    "closedwon": "customer",
    "evangelist": "evangelist",
    "other": "other",
    "unqualified": "disqualified",
    "disqualified": "disqualified",
}


def normalise_stage(raw: str) -> str:
    """Our stage for a CRM's stage name; unknown (custom) names are ``other``."""
    key = re.sub(r"[\s_-]+", "", raw or "").lower()
    return STAGE_NAMES.get(key, "other")


def reached_sales(stage: str, threshold: str) -> bool:
    """Whether ``stage`` is at or beyond ``threshold`` in the funnel."""
    if stage not in FUNNEL or threshold not in FUNNEL:
        return False
    return FUNNEL.index(stage) >= FUNNEL.index(threshold)


def qualifying_stages(threshold: str) -> tuple[str, ...]:
    """The stages that count as "reached sales" for a site's threshold."""
    return tuple(stage for stage in FUNNEL if reached_sales(stage, threshold))
