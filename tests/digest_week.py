"""A known fortnight on the blog (Europe/Berlin) for the digest tests.

The digest run on Monday 30 Nov 2026 covers 23–29 Nov, Berlin days:
from 22 Nov 23:00 UTC to 29 Nov 23:00 UTC; the week before is 16–22 Nov.

Leads (identified through the collector, named by the CRM):
- Ada (ada@acme.example): reached sales, owner ``SAM@corp.example``, account
  Acme. This week: pricing 40 s (22 Nov 23:30 UTC, already 23 Nov in Berlin),
  pricing 20 s, guide 30 s; outside it: pricing 5 s on 18 Nov and 99 s on
  29 Nov 23:30 UTC (30 Nov in Berlin).
- Bob (bob@globex.example): reached sales, owner ``sam``; pricing 15 s.
- Cy (cy@widgets.example): never reached sales, owner ``other@corp.example``;
  guide 50 s.

Anonymous readers, one visitor a view: setup (5 views of 20 s the week
before, 5 of 8 s this week: fell 60 %), faq (5 × 10 s, then 5 × 9.5 s: fell
only 5 %), changelog (4 × 30 s, then 5 × 1 s: too few views the week before).

The guide's title is hostile: browsers send titles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from conftest import post_batch
from factories import attention, batch, identify, new_id, pv
from sqlalchemy import select

from resonance.core.models import Account, Lead, Site
from tracker import crm

HOST = "https://blog.example.com"
PRICING = f"{HOST}/pricing"
GUIDE = f"{HOST}/guide"
SETUP = f"{HOST}/docs/setup"
FAQ = f"{HOST}/docs/faq"
CHANGELOG = f"{HOST}/changelog"
HOSTILE = '<script>alert("t")</script> Guide & <b>more</b>'
RUN_DAY = date(2026, 11, 30)
ADA, BOB, CY = "ada@acme.example", "bob@globex.example", "cy@widgets.example"
OWNERS = {ADA: "SAM@corp.example", BOB: "sam", CY: "other@corp.example"}
NAMES = {ADA: "Ada Lovelace", BOB: "Bob Page", CY: "Cy Young"}


def view(client, url: str, when: datetime, active_ms: int, visitor: str, email=None):
    """One page view at ``when`` (UTC) with ``active_ms`` of attention; the
    visitor identifies as ``email`` when given."""
    ts = int(when.replace(tzinfo=UTC).timestamp() * 1000)
    title = HOSTILE if url == GUIDE else url.rsplit("/", 1)[1].title()
    page = pv(url=url, ts=ts, ti=title)
    events = [page, attention(page["p"], active_ms, [])]
    if email:
        events.append(identify(page["p"], email))
    response = post_batch(client, batch(*events, v=visitor))
    assert response.status_code == 204, response.get_data(as_text=True)


def seed_fortnight(client, session, site) -> dict[str, int]:
    """Store the fortnight through the collector; lead ids by e-mail."""
    leads = [
        (ADA, PRICING, datetime(2026, 11, 18, 12), 5_000),
        (ADA, PRICING, datetime(2026, 11, 22, 23, 30), 40_000),
        (ADA, PRICING, datetime(2026, 11, 24, 10), 20_000),
        (ADA, GUIDE, datetime(2026, 11, 25, 10), 30_000),
        (ADA, PRICING, datetime(2026, 11, 29, 23, 30), 99_000),
        (BOB, PRICING, datetime(2026, 11, 26, 9), 15_000),
        (CY, GUIDE, datetime(2026, 11, 26, 11), 50_000),
    ]
    for email, url, when, ms in leads:
        view(client, url, when, ms, "visitor-" + email.split("@")[0], email)
    pages = [
        (SETUP, [20_000] * 5, [8_000] * 5),
        (FAQ, [10_000] * 5, [9_500] * 5),
        (CHANGELOG, [30_000] * 4, [1_000] * 5),
    ]
    for url, before, this in pages:
        for week_start, durations in (
            (datetime(2026, 11, 17), before),
            (datetime(2026, 11, 25), this),
        ):
            for i, ms in enumerate(durations):
                view(client, url, week_start + timedelta(hours=i), ms, new_id("anon"))
    session.get(Site, site.id).timezone = "Europe/Berlin"
    now = datetime(2026, 11, 27)
    ids = {}
    for email, owner in OWNERS.items():
        lead = crm.upsert_lead(
            session, site.id, email=email, name=NAMES[email], owner=owner, now=now
        ).lead
        ids[email] = lead.id
    for email in (ADA, BOB):
        crm.record_stage_change(
            session,
            site.id,
            ids[email],
            stage_raw="Sales Qualified Lead",
            entered_at=datetime(2026, 11, 20),
            crm_event_id=new_id("crm"),
            now=now,
        )
    # Only Ada is in an account, named here (the grouping may have made it).
    key = "domain:acme.example"
    acme = session.scalar(
        select(Account).where(Account.site_id == site.id, Account.key == key)
    )
    if acme is None:
        acme = Account(site_id=site.id, key=key, name="Acme", created_at=now)
        session.add(acme)
        session.flush()
    acme.name = "Acme"
    for email, lead_id in ids.items():
        session.get(Lead, lead_id).account_id = acme.id if email == ADA else None
    session.commit()
    assert session.scalar(select(Lead.reached_sales_at).where(Lead.id == ids[ADA]))
    return ids
