"""Leads, stage history and merges in tracker.crm, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import count, post_batch
from factories import batch, identify, pv
from sqlalchemy import select

from resonance.core.clock import naive_utc
from resonance.core.models import (
    IdentityConflict,
    IdentityLink,
    Lead,
    Site,
    StageChange,
)
from tracker import crm

NOW = datetime(2025, 1, 15, 12, 0)
JAN, FEB, MAR, APR = (datetime(2024, month, 1, 9, 0) for month in (1, 2, 3, 4))


def stage(session, site, lead, raw, at, event_id) -> bool:
    return crm.record_stage_change(
        session,
        site.id,
        lead.id,
        stage_raw=raw,
        entered_at=at,
        crm_event_id=event_id,
        now=NOW,
    )


def fresh(session, lead: Lead) -> Lead:
    session.expire_all()
    return session.get(Lead, lead.id)


# --- pure rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("subscriber", "subscriber"),
        ("lead", "lead"),
        ("marketingqualifiedlead", "mql"),
        ("salesqualifiedlead", "sql"),
        ("opportunity", "opportunity"),
        ("customer", "customer"),
        ("evangelist", "evangelist"),
        ("other", "other"),
        ("MQL", "mql"),
        ("SQL", "sql"),
        ("Sales Qualified Lead", "sql"),
        (" Marketing  Qualified Lead ", "mql"),
        ("sales_qualified_lead", "sql"),
        ("closedwon", "customer"),
        ("Closed Won", "customer"),
        ("unqualified", "disqualified"),
        ("Disqualified", "disqualified"),
        ("my custom stage 42", "other"),
        ("", "other"),
    ],
)
def test_normalise_stage_maps_hubspot_and_common_names(raw, expected):
    assert crm.normalise_stage(raw) == expected
    assert expected in crm.STAGES


@pytest.mark.parametrize(
    ("stage_name", "threshold", "expected"),
    [
        ("sql", "sql", True),
        ("customer", "sql", True),
        ("evangelist", "sql", True),
        ("mql", "sql", False),
        ("mql", "mql", True),
        ("subscriber", "mql", False),
        ("other", "sql", False),
        ("disqualified", "subscriber", False),
        ("customer", "other", False),
    ],
)
def test_reached_sales_follows_the_funnel_order(stage_name, threshold, expected):
    assert crm.reached_sales(stage_name, threshold) is expected


# --- upserts --------------------------------------------------------------------


def test_upsert_lead_matches_by_crm_id_then_by_normalised_email(session, site):
    first = crm.upsert_lead(session, site.id, email=" Ada@Example.COM ", now=NOW).lead
    by_email = crm.upsert_lead(
        session, site.id, email="ada@example.com", crm_id="101", name="Ada", now=NOW
    ).lead
    by_crm_id = crm.upsert_lead(
        session, site.id, crm_id="101", company="AE", now=NOW
    ).lead
    session.commit()

    lead = fresh(session, first)
    assert first.id == by_email.id == by_crm_id.id
    assert (lead.email, lead.crm_id, lead.name, lead.company) == (
        "ada@example.com",
        "101",
        "Ada",
        "AE",
    )
    assert count(session, Lead) == 1


def test_upsert_lead_refuses_an_email_held_by_another_crm_id(session, site):
    crm.upsert_lead(session, site.id, email="ada@example.com", crm_id="101", now=NOW)
    crm.upsert_lead(session, site.id, email="bob@example.com", crm_id="102", now=NOW)
    session.commit()

    with pytest.raises(crm.LeadConflict, match="crm_id '101'"):
        crm.upsert_lead(
            session, site.id, email="ADA@example.com", crm_id="102", now=NOW
        )


def test_crm_lead_taking_an_email_absorbs_the_snippets_lead(session, site):
    """The snippet met jane@ first; the CRM then says contact 7 is jane@."""
    snippet = crm.upsert_lead(session, site.id, email="jane@corp.example", now=NOW).lead
    contact = crm.upsert_lead(
        session, site.id, crm_id="7", email="old@corp.example", now=NOW
    ).lead
    again = crm.upsert_lead(
        session, site.id, crm_id="7", email="jane@corp.example", now=NOW
    ).lead
    session.commit()

    assert again.id == contact.id
    assert fresh(session, snippet).merged_into_id == contact.id
    assert crm.find_lead(session, site.id, "jane@corp.example").id == contact.id


# --- stages ---------------------------------------------------------------------


def test_replayed_stage_event_is_recorded_once(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead

    first = stage(session, site, lead, "salesqualifiedlead", FEB, "evt-1")
    replay = stage(session, site, lead, "salesqualifiedlead", FEB, "evt-1")
    session.commit()

    assert (first, replay) == (True, False)
    assert count(session, StageChange) == 1


def test_late_event_with_an_earlier_time_is_placed_in_order(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead
    stage(session, site, lead, "customer", APR, "evt-customer")
    stage(session, site, lead, "opportunity", MAR, "evt-opportunity")
    # Arrives last but happened first: neither the current stage nor the first
    # qualifying moment may follow arrival order.
    stage(session, site, lead, "salesqualifiedlead", FEB, "evt-sql")
    session.commit()

    lead = fresh(session, lead)
    assert (lead.stage, lead.stage_raw) == ("customer", "customer")
    assert lead.reached_sales_at == FEB
    assert [c.crm_event_id for c in crm.stage_history(session, lead.id)] == [
        "evt-sql",
        "evt-opportunity",
        "evt-customer",
    ]


def test_reached_sales_at_is_kept_after_moving_back_to_lead(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead
    stage(session, site, lead, "lead", JAN, "e1")
    stage(session, site, lead, "SQL", FEB, "e2")
    stage(session, site, lead, "lead", MAR, "e3")
    session.commit()

    lead = fresh(session, lead)
    assert (lead.stage, lead.reached_sales_at) == ("lead", FEB)


def test_entered_at_with_a_zone_is_stored_as_naive_utc(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead
    paris = timezone(timedelta(hours=1))
    stage(session, site, lead, "sql", datetime(2024, 2, 1, 10, 0, tzinfo=paris), "e1")
    session.commit()

    assert fresh(session, lead).reached_sales_at == datetime(2024, 2, 1, 9, 0)


def test_site_threshold_mql_makes_an_mql_reach_sales(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead
    stage(session, site, lead, "marketingqualifiedlead", JAN, "e1")
    session.commit()
    assert fresh(session, lead).reached_sales_at is None

    session.get(Site, site.id).reached_sales_stage = "mql"
    crm.recompute_stages(session, site.id)
    session.commit()
    assert fresh(session, lead).reached_sales_at == JAN

    stage(session, site, lead, "sql", FEB, "e2")
    session.commit()
    assert fresh(session, lead).reached_sales_at == JAN


def test_other_and_disqualified_never_reach_sales(session, site):
    lead = crm.upsert_lead(session, site.id, crm_id="101", now=NOW).lead
    stage(session, site, lead, "my custom stage", JAN, "e1")
    stage(session, site, lead, "unqualified", FEB, "e2")
    session.commit()

    lead = fresh(session, lead)
    assert (lead.stage, lead.reached_sales_at) == ("disqualified", None)


def test_stage_of_another_sites_lead_is_refused(session, site):
    other = Site(key="other", name="Other", created_at=NOW, allowed_origins=[])
    session.add(other)
    session.flush()
    theirs = crm.upsert_lead(session, other.id, crm_id="101", now=NOW).lead

    with pytest.raises(ValueError, match="not a lead of site"):
        stage(session, site, theirs, "sql", JAN, "e1")


# --- merges ---------------------------------------------------------------------


@pytest.fixture
def two_readers(client, site, session):
    """Two browsers identified through the snippet as two leads."""
    for visitor, email in (
        ("visitor-ada1", "ada@x.example"),
        ("visitor-bob1", "bob@x.example"),
    ):
        view = pv()
        response = post_batch(
            client, batch(view, identify(view["p"], email), v=visitor)
        )
        assert response.status_code == 204
    ada = crm.find_lead(session, site.id, "ada@x.example")
    bob = crm.find_lead(session, site.id, "bob@x.example")
    return ada, bob


def test_merge_moves_links_history_and_fills_empty_fields(session, site, two_readers):
    ada, bob = two_readers
    crm.upsert_lead(session, site.id, email="ada@x.example", crm_id="1", now=NOW)
    crm.upsert_lead(
        session, site.id, email="bob@x.example", crm_id="2", company="Bob Co", now=NOW
    )
    stage(session, site, bob, "sql", FEB, "bob-sql")
    stage(session, site, ada, "lead", MAR, "ada-lead")

    crm.merge_leads(session, site.id, bob.id, ada.id, now=NOW)
    session.commit()

    survivor, merged = fresh(session, ada), fresh(session, bob)
    links = session.scalars(select(IdentityLink.lead_id)).all()
    assert links == [ada.id, ada.id]
    assert merged.merged_into_id == ada.id
    assert (merged.stage, merged.reached_sales_at) == (None, None)
    assert (survivor.company, survivor.stage, survivor.reached_sales_at) == (
        "Bob Co",
        "lead",
        FEB,
    )
    assert {c.crm_event_id for c in crm.stage_history(session, ada.id)} == {
        "bob-sql",
        "ada-lead",
    }


def test_merged_leads_keys_find_the_survivor(session, site, two_readers):
    ada, bob = two_readers
    carol = crm.upsert_lead(session, site.id, email="carol@x.example", now=NOW).lead
    crm.merge_leads(session, site.id, carol.id, bob.id, now=NOW)
    crm.merge_leads(session, site.id, bob.id, ada.id, now=NOW)
    replay = crm.merge_leads(session, site.id, bob.id, ada.id, now=NOW)
    session.commit()

    assert replay is None
    assert fresh(session, carol).merged_into_id == ada.id  # no chains left
    for key in ("carol@x.example", " BOB@x.example"):
        assert crm.find_lead(session, site.id, key).id == ada.id
        assert crm.upsert_lead(session, site.id, email=key, now=NOW).lead.id == ada.id
    assert count(session, Lead) == 3


def test_merge_drops_a_conflict_between_the_two_records_of_one_person(
    client, session, site, two_readers
):
    ada, bob = two_readers
    # Ada's browser identifies as Bob: a shared browser, as far as we knew.
    view = pv()
    post_batch(
        client, batch(view, identify(view["p"], "bob@x.example"), v="visitor-ada1")
    )
    assert count(session, IdentityConflict) == 1

    crm.merge_leads(session, site.id, bob.id, ada.id, now=NOW)
    session.commit()

    assert count(session, IdentityConflict) == 0


def test_naive_utc_keeps_naive_and_converts_aware():
    aware = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

    assert naive_utc(aware) == datetime(2024, 1, 1, 12, 0)
    assert naive_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1)


def test_new_browser_identifying_as_a_merged_lead_reads_for_the_survivor(
    client, session, site, two_readers
):
    ada, bob = two_readers  # both have an e-mail: Bob's stays on the merged record
    crm.merge_leads(session, site.id, bob.id, ada.id, now=NOW)
    session.commit()

    view = pv()
    post_batch(
        client, batch(view, identify(view["p"], "bob@x.example"), v="visitor-bob2")
    )

    session.expire_all()
    assert set(session.scalars(select(IdentityLink.lead_id))) == {ada.id}
