"""A marked form's name and company (``nm``, ``co`` on identify) are stored on the
lead when it has none yet, through the one lead upsert; what the CRM says wins.
The prospect page then shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from resonance.core.models import Lead
from tests.conftest import post_batch
from tests.factories import batch, identify, pv
from tracker import crm

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _lead(session, email: str) -> Lead:
    session.expire_all()
    return session.scalars(select(Lead).where(Lead.email == email)).one()


def test_the_forms_name_and_company_are_stored_and_shown_on_the_prospect_page(
    client, session, site
):
    view = pv()
    form = identify(view["id"], "ada@example.com", nm=" Ada Lovelace ", co="Engines")

    assert post_batch(client, batch(view, form)).status_code == 204

    lead = _lead(session, "ada@example.com")
    assert (lead.name, lead.company) == ("Ada Lovelace", "Engines")
    page = client.get(f"/dash/sites/blog/prospects/{lead.id}?format=json").json
    assert (page["prospect"]["name"], page["prospect"]["company"]) == (
        "Ada Lovelace",
        "Engines",
    )
    html = client.get(f"/dash/sites/blog/prospects/{lead.id}").get_data(as_text=True)
    assert "Ada Lovelace" in html and "Engines" in html


def test_an_identify_without_name_or_company_leaves_the_leads_fields_empty(
    client, session, site
):
    view = pv()
    assert (
        post_batch(client, batch(view, identify(view["id"], "bo@x.io"))).status_code
        == 204
    )
    lead = _lead(session, "bo@x.io")
    assert (lead.name, lead.company) == (None, None)


def test_the_crms_name_wins_over_the_forms_and_fills_only_blanks(client, session, site):
    crm.upsert_lead(
        session, site.id, email="cy@example.com", crm_id="77", name="Cy Young", now=NOW
    )
    session.commit()
    view = pv()
    form = identify(view["id"], "cy@example.com", nm="cy", co="Young & Sons")

    assert post_batch(client, batch(view, form)).status_code == 204

    lead = _lead(session, "cy@example.com")
    assert (lead.name, lead.company) == ("Cy Young", "Young & Sons")


def test_a_later_form_does_not_rename_a_lead_and_the_crm_still_can(session, site):
    first = crm.upsert_lead(
        session, site.id, email="di@x.io", name="Di", now=NOW, overwrite=False
    )
    again = crm.upsert_lead(
        session, site.id, email="di@x.io", name="Diana P", now=NOW, overwrite=False
    )
    assert (first.changed, again.changed, again.lead.name) == (True, False, "Di")

    from_crm = crm.upsert_lead(session, site.id, email="di@x.io", name="Diana", now=NOW)

    assert (from_crm.changed, from_crm.lead.name) == (True, "Diana")
