"""The CRM side of generated traffic (the demo's and the benchmark's): names,
companies, owners and lifecycle-stage histories for the leads it identified.

Goes through ``tracker.crm`` exactly as the CRM API does. Leads who read more, and
read the articles about qualification, progress further and faster, so the
influence page shows a real signal instead of noise.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resonance.core.models import Content, Identify, IdentityLink, Lead, PageView
from resonance.demo.people import person_of
from tracker.crm import recompute_stages, record_stage_change, upsert_lead

OWNERS = ("Dana Whitfield", "Marcus Oyelaran", "Priya Raman")
# HubSpot's internal names, as its webhooks send them.
PATH = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
# Reading these makes a demo lead likelier to move on: the signal to find.
PERSUASIVE = ("lead-scoring-that-sales-trusts", "mql-to-sql-in-30-days", "/pricing")


def seed_stages(session: Session, site_id: int, *, seed: int = 7, now: datetime) -> int:
    """Give every identified lead of the site a profile and a stage history;
    return the number of stage changes recorded.

    Every demo lead identified itself by requesting a demo (the contact form).
    Its history starts there, moves through the funnel in order, and each stage
    is entered at a moment that fits its visits: marketing-qualified while it
    reads, sales-qualified (reached sales) after the request and its reading,
    later stages days after that. A stage whose moment would come after ``now``
    has not happened yet, so that lead stops short of it."""
    rng = random.Random(seed)
    now = now.replace(tzinfo=None)
    changes = 0
    for lead_id, email, first_seen, last_seen, views, persuasive in _leads(
        session, site_id
    ):
        _profile(session, site_id, email, rng, now)
        path = _path(rng, views, persuasive)
        for step, (stage, moment) in enumerate(
            _timeline(rng, path, first_seen, last_seen, now)
        ):
            changes += record_stage_change(
                session,
                site_id,
                lead_id,
                stage_raw=stage,
                entered_at=moment,
                crm_event_id=f"demo-{lead_id}-{step}",
                now=now,
                recompute=False,
            )
    recompute_stages(session, site_id)
    return changes


def _timeline(
    rng: random.Random,
    path: list[str],
    first_seen: datetime,
    last_seen: datetime,
    now: datetime,
) -> list[tuple[str, datetime]]:
    """When the lead entered each stage of ``path``, in order and never after
    ``now`` (the path is cut at the first stage still to come)."""
    span = max(last_seen - first_seen, timedelta(0))
    moment = first_seen
    timeline = []
    for stage in path:
        if stage in ("subscriber", "lead"):
            moment += timedelta(minutes=rng.uniform(1, 30))  # the form, then triage
        elif stage == "marketingqualifiedlead":
            moment = max(moment, first_seen + span * rng.uniform(0.1, 0.5))
            moment += timedelta(hours=rng.uniform(1, 24))
        elif stage == "salesqualifiedlead":
            # Sales calls back after the request and the reading that followed.
            moment = max(moment, first_seen + span * rng.uniform(0.5, 1.0))
            moment += timedelta(hours=rng.uniform(2, 48))
        else:  # opportunity, customer, unqualified: days or weeks later
            moment += timedelta(days=rng.uniform(2, 14))
        if moment > now:
            break
        timeline.append((stage, moment))
    return timeline


def _leads(session: Session, site_id: int):
    """Each lead with its first identify time, its last page view's time, its
    page views and persuasive reads."""
    first_seen = (
        select(Identify.email, func.min(Identify.identified_at).label("at"))
        .where(Identify.site_id == site_id)
        .group_by(Identify.email)
        .subquery()
    )
    persuasive = func.sum(
        func.cast(
            Content.url.like(f"%{PERSUASIVE[0]}")
            | Content.url.like(f"%{PERSUASIVE[1]}")
            | Content.url.like(f"%{PERSUASIVE[2]}"),
            PageView.active_ms.type,
        )
    )
    rows = session.execute(
        select(
            Lead.id,
            Lead.email,
            first_seen.c.at,
            func.max(PageView.viewed_at),
            func.count(PageView.id),
            func.coalesce(persuasive, 0),
        )
        .join(first_seen, first_seen.c.email == Lead.email)
        .join(IdentityLink, IdentityLink.lead_id == Lead.id)
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .where(Lead.site_id == site_id)
        .group_by(Lead.id, Lead.email, first_seen.c.at)
        .order_by(Lead.email)
    )
    return rows.all()


def _path(rng: random.Random, views: int, persuasive: int) -> list[str]:
    """How far a lead goes: further with more reading and persuasive reads.
    About a third to a half of the demo requests become sales-qualified, the
    readers of the persuasive articles far more often than the others."""
    push = min(0.2, 0.01 * views) + min(0.3, 0.1 * persuasive)
    chances = {
        "marketingqualifiedlead": 0.55 + push,
        "salesqualifiedlead": 0.35 + push,
        "opportunity": 0.5,
        "customer": 0.4,
    }
    stages = list(PATH[:2])
    for stage in PATH[2:]:
        if rng.random() > chances[stage]:
            break
        stages.append(stage)
    if len(stages) <= 3 and rng.random() < 0.12:
        stages.append("unqualified")  # HubSpot's name; stored as disqualified
    return stages


def _profile(
    session: Session, site_id: int, email: str, rng: random.Random, now: datetime
) -> None:
    """Name and company from ``first.last@company-domain.example``; an owner."""
    name, company = person_of(email)
    upsert_lead(
        session,
        site_id,
        email=email,
        name=name,
        company=company,
        owner=rng.choice(OWNERS),
        now=now,
    )
