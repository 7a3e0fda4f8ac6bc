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
    return the number of stage changes recorded."""
    rng = random.Random(seed)
    now = now.replace(tzinfo=None)
    changes = 0
    for lead_id, email, first_seen, views, persuasive in _leads(session, site_id):
        _profile(session, site_id, email, rng, now)
        moment = first_seen
        for step, stage in enumerate(_path(rng, views, persuasive)):
            moment = min(moment + timedelta(hours=rng.uniform(6, 24 * 6 * step)), now)
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


def _leads(session: Session, site_id: int):
    """Each lead with its first identify time, page views and persuasive reads."""
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
    """How far a lead goes: further with more reading and persuasive reads."""
    push = min(0.25, 0.02 * views) + min(0.3, 0.12 * persuasive)
    stages = list(PATH[:2])
    for stage in PATH[2:]:
        if rng.random() > 0.25 + push:
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
