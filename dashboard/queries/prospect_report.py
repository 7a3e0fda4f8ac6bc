"""The prospect page: every query of one prospect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from dashboard.queries.influence import Suggestion, suggested_reads
from dashboard.queries.prospect_reading import (
    Topic,
    Visit,
    known_topics,
    reading_history,
)
from dashboard.queries.prospects import NotedContent, Prospect, prospect_notes
from dashboard.queries.reading import READ_RULE


@dataclass(frozen=True)
class ProspectReport:
    """Everything the prospect page shows (and its JSON twin)."""

    prospect: Prospect
    read_rule: str
    visits: list[Visit]
    known: list[Topic]
    suggestions: list[Suggestion]
    notes: list[NotedContent]
    # Whether suggestions include conversion pages (``?conversion=1``).
    conversion: bool = False


def prospect_report(
    session: Session, site: int, lead: Prospect, conversion: bool = False
) -> ProspectReport:
    """Run every query of the prospect page; suggestions leave conversion pages
    out unless ``conversion``."""
    lead_id = lead.lead_id
    return ProspectReport(
        prospect=lead,
        read_rule=READ_RULE,
        visits=reading_history(session, site, lead_id),
        known=known_topics(session, site, lead_id),
        suggestions=suggested_reads(session, site, lead_id, conversion=conversion),
        notes=prospect_notes(session, site, lead_id),
        conversion=conversion,
    )
