"""``resonance erase``: a person and everything linked to them go, in one
transaction, with an audit row that holds no personal data; others stay intact."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from conftest import count, post_batch
from factories import attention, batch, click, identify, layout, pv, scroll
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from resonance.cli import cli
from resonance.core.models import (
    AttentionBand,
    Base,
    Click,
    Content,
    Erasure,
    Identify,
    IdentityConflict,
    Lead,
    Note,
    PageSection,
    PageView,
    StageChange,
    Visitor,
)
from tracker.crm import merge_leads, record_stage_change, upsert_lead
from tracker.lifecycle import erase
from tracker.notes import add_note

NOW = datetime(2026, 11, 20, 12, 0)


def _reader(client, visitor: str, email: str | None, page: str) -> str:
    """One browser reading a page fully (clicks, sections, attention, bands), then
    identifying when ``email`` is given; the page view's id."""
    pid = f"pv{visitor}"
    url = f"https://blog.example.com/{page}"
    events = [
        pv(pid, url=url),
        layout(pid),
        click(pid),
        scroll(pid, 2400),
        attention(pid, 9000, [[0, 4000], [1, 5000]], b=[[0, 9000], [8, 9000], [9, 10]]),
    ]
    if email:
        events.append(identify(pid, email))
    assert post_batch(client, batch(*events, v=visitor)).status_code == 204
    return pid


@pytest.fixture
def people(client, session, site):
    """Jane (two browsers, an older CRM record merged into hers, a stage, a note),
    Bob (one browser that once identified as Jane: a shared computer) and an
    anonymous reader."""
    _reader(client, "janelaptop01", "jane@example.com", "pricing")
    _reader(client, "janephone001", "Jane@Example.com", "guide")
    _reader(client, "bobdesktop01", "bob@example.com", "pricing")
    shared = [pv("pvbobagain001"), identify("pvbobagain001", "jane@example.com")]
    assert post_batch(client, batch(*shared, v="bobdesktop01")).status_code == 204
    _reader(client, "anonymous001", None, "pricing")

    jane = upsert_lead(
        session, site.id, email="jane@example.com", crm_id="crm-jane", now=NOW
    ).lead
    old = upsert_lead(
        session, site.id, email="j.doe@oldco.example", crm_id="crm-jane-old", now=NOW
    ).lead
    merge_leads(session, site.id, old.id, jane.id, now=NOW)
    bob = session.scalar(select(Lead).where(Lead.email == "bob@example.com"))
    for lead, event in ((jane, "e-jane"), (bob, "e-bob")):
        record_stage_change(
            session,
            site.id,
            lead.id,
            stage_raw="sql",
            entered_at=NOW,
            crm_event_id=event,
            now=NOW,
        )
    pricing = session.scalar(select(Content.id).where(Content.url.like("%pricing")))
    add_note(
        session, site.id, pricing, jane.id, "sam", "Jane quoted the table", None, NOW
    )
    add_note(session, site.id, pricing, bob.id, "sam", "Bob asked about SSO", None, NOW)
    add_note(session, site.id, pricing, None, "sam", "Pricing page converts", None, NOW)
    session.commit()
    assert count(session, IdentityConflict) == 1
    return {"jane": jane.id, "bob": bob.id}


def _rows_mentioning(session, needle: str) -> list[str]:
    """Every row of every table whose text holds ``needle`` (case-insensitive)."""
    session.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            if needle in repr(tuple(row)).lower():
                found.append(f"{table.name}: {tuple(row)}")
    return found


def _bob_and_anonymous(session) -> dict[str, int]:
    session.expire_all()
    bob = select(Visitor.id).where(
        Visitor.uid.in_(["c:bobdesktop01", "c:anonymous001"])
    )
    views = select(PageView.id).where(PageView.visitor_id.in_(bob))
    return {
        "leads": session.scalar(
            select(func.count()).where(Lead.email == "bob@example.com")
        ),
        "visitors": session.scalar(select(func.count()).where(Visitor.id.in_(bob))),
        "pageviews": session.scalar(select(func.count()).where(PageView.id.in_(views))),
        "clicks": session.scalar(
            select(func.count()).where(Click.pageview_id.in_(views))
        ),
        "sections": session.scalar(
            select(func.count()).where(PageSection.pageview_id.in_(views))
        ),
        "bands": session.scalar(
            select(func.count()).where(AttentionBand.pageview_id.in_(views))
        ),
        "own identifies": session.scalar(
            select(func.count()).where(Identify.email == "bob@example.com")
        ),
        "stages": session.scalar(
            select(func.count())
            .select_from(StageChange)
            .join(Lead, Lead.id == StageChange.lead_id)
            .where(Lead.email == "bob@example.com")
        ),
        "notes": session.scalar(
            select(func.count()).where(
                Note.body.in_(["Bob asked about SSO", "Pricing page converts"])
            )
        ),
    }


@pytest.mark.parametrize(
    "option", [["--email", " JANE@example.com "], ["--crm-id", "crm-jane-old"]]
)
def test_erase_removes_the_person_everywhere_and_leaves_others_intact(
    runner, session, people, option
):
    others = _bob_and_anonymous(session)
    contents = count(session, Content)
    assert _rows_mentioning(session, "jane")

    result = runner.invoke(cli, ["erase", *option, "--by", "dpo@example.org"])

    assert result.exit_code == 0, result.output
    assert "leads 2" in result.output  # hers and the merged CRM record
    assert _rows_mentioning(session, "jane") == []
    assert _rows_mentioning(session, "oldco") == []
    assert _bob_and_anonymous(session) == others
    assert others == {
        "leads": 1,
        "visitors": 2,
        "pageviews": 3,
        "clicks": 2,
        "sections": 6,
        "bands": 6,
        "own identifies": 1,
        "stages": 1,
        "notes": 2,
    }
    assert count(session, IdentityConflict) == 0
    assert count(session, Content) == contents


def test_erasure_audit_row_has_the_key_hash_and_counts_but_no_personal_data(
    session, people
):
    result = erase(session, email="jane@example.com", actor="dpo", now=NOW)
    session.commit()

    audit = session.scalars(select(Erasure)).one()
    assert audit.id == result.erasure_id
    assert audit.key_kind == "email"
    assert audit.key_hash == hashlib.sha256(b"jane@example.com").hexdigest()
    assert (audit.actor, audit.erased_at) == ("dpo", NOW)
    assert audit.removed == {
        # jane read the pricing page (high intent) as a known lead: one alert.
        "alerts": 1,
        "clicks": 2,
        "page_sections": 6,
        "attention_bands": 6,
        "identifies": 3,
        "pageviews": 2,
        "visit_sessions": 2,
        "identity_conflicts": 1,
        "identity_links": 2,
        "stage_changes": 1,
        "notes": 1,
        "visitors": 2,
        "leads": 2,
    }
    assert "jane" not in repr(audit.__dict__).lower()


def test_erase_of_an_unknown_person_changes_nothing_but_is_logged(
    runner, session, people
):
    before = {t.name: count(session, t) for t in Base.metadata.sorted_tables}

    result = runner.invoke(cli, ["erase", "--crm-id", "nobody"])

    assert result.exit_code == 0, result.output
    assert "no lead matched" in result.output
    after = {t.name: count(session, t) for t in Base.metadata.sorted_tables}
    assert after == before | {"erasures": 1}


@pytest.mark.parametrize(
    "args",
    [[], ["--email", "a@b.example", "--crm-id", "x"], ["--email", "not-an-email"]],
)
def test_erase_needs_exactly_one_valid_key(runner, people, args):
    result = runner.invoke(cli, ["erase", *args])

    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_failed_erasure_removes_nothing(app, session, people):
    """One transaction: an error half-way (here the audit insert) rolls it all back."""
    before = {t.name: count(session, t) for t in Base.metadata.sorted_tables}
    with app.extensions["resonance.sessionmaker"]() as other:
        with pytest.raises(IntegrityError):  # erased_at is required
            erase(other, email="jane@example.com", actor="dpo", now=None)
        other.rollback()

    after = {t.name: count(session, t) for t in Base.metadata.sorted_tables}
    assert after == before
