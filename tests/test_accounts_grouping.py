"""Accounts: which company a lead is grouped in, decided by every lead source
(the CRM API, the CSV import, the snippet's identify call), on SQLite and
PostgreSQL. The CRM's company wins over the e-mail's domain; free-mail domains
never group; merged leads follow their survivor; an erasure leaves no empty
account behind."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import count, post_batch
from factories import batch, identify, pv
from sqlalchemy import select

from resonance.core.models import Account, Lead
from tracker import crm
from tracker.accounts import account_for, email_domain, group_site
from tracker.leads_import import import_leads
from tracker.lifecycle import erase

NOW = datetime(2026, 3, 2, 9, 0)


def _accounts(session, site_id: int) -> dict[str, tuple[str, list[str]]]:
    """key → (name, e-mails of its unmerged leads), fresh from the database."""
    session.expire_all()
    out: dict[str, tuple[str, list[str]]] = {}
    for account in session.scalars(
        select(Account).where(Account.site_id == site_id).order_by(Account.key)
    ):
        emails = session.scalars(
            select(Lead.email)
            .where(Lead.account_id == account.id, Lead.merged_into_id.is_(None))
            .order_by(Lead.email)
        ).all()
        out[account.key] = (account.name, list(emails))
    return out


def _upsert(session, site, email, **fields):
    lead = crm.upsert_lead(session, site.id, email=email, now=NOW, **fields).lead
    session.commit()
    return lead


# --- the choice -------------------------------------------------------------------


def test_the_crm_company_beats_the_email_domain():
    choice = account_for("ann@redwing.example", "Redwing Ltd", "co-17")

    assert (choice.key, choice.name, choice.domain) == (
        "crm:co-17",
        "Redwing Ltd",
        "redwing.example",
    )


@pytest.mark.parametrize(
    "email", ["ann@gmail.com", "ann@proton.me", "Ann@GMAIL.COM", "ann@yahoo.com"]
)
def test_free_mail_domains_never_group(email):
    assert account_for(email, "Redwing", None) is None


def test_free_mail_with_a_crm_company_is_grouped_by_the_crm_without_a_domain():
    choice = account_for("ann@gmail.com", "Redwing", "co-17")

    assert (choice.key, choice.name, choice.domain) == ("crm:co-17", "Redwing", None)


def test_an_idna_domain_is_lower_cased_in_its_ascii_form():
    assert email_domain("ann@BÜCHER.de") == "xn--bcher-kva.de"
    assert email_domain("ann@faß.de") == "xn--fa-hia.de"
    assert account_for("ann@Bücher.DE", None, None).key == "domain:xn--bcher-kva.de"


def test_without_a_company_the_domain_names_the_account():
    choice = account_for("ann@redwing.example", None, None)

    assert (choice.key, choice.name) == ("domain:redwing.example", "redwing.example")


def test_a_bad_domain_groups_nobody():
    assert account_for("ann@-bad-.example", None, None) is None
    assert account_for(None, None, None) is None


# --- every source ---------------------------------------------------------------------


def test_leads_of_one_domain_share_an_account_named_by_the_first_company(session, site):
    _upsert(session, site, "ann@redwing.example")
    _upsert(session, site, "ben@REDWING.example", company="Redwing")
    _upsert(session, site, "cat@redwing.example", company="Other name")

    assert _accounts(session, site.id) == {
        "domain:redwing.example": (
            "Redwing",
            ["ann@redwing.example", "ben@redwing.example", "cat@redwing.example"],
        )
    }


def test_gmail_and_proton_leads_are_never_grouped(session, site):
    _upsert(session, site, "ann@gmail.com", company="Redwing")
    _upsert(session, site, "ben@proton.me", company="Redwing")

    assert _accounts(session, site.id) == {}
    assert count(session, Account) == 0


def test_a_lead_moves_from_its_domain_account_to_its_crm_company(session, site):
    _upsert(session, site, "ann@redwing.example")
    _upsert(session, site, "ben@redwing.example")
    assert list(_accounts(session, site.id)) == ["domain:redwing.example"]

    _upsert(session, site, "ann@redwing.example", company="Redwing", company_id="c1")

    assert _accounts(session, site.id) == {
        "crm:c1": ("Redwing", ["ann@redwing.example"]),
        "domain:redwing.example": ("redwing.example", ["ben@redwing.example"]),
    }

    _upsert(session, site, "ben@redwing.example", company_id="c1")

    # The domain account, left empty, is gone.
    assert _accounts(session, site.id) == {
        "crm:c1": ("Redwing", ["ann@redwing.example", "ben@redwing.example"]),
    }


def test_the_crm_renames_its_company(session, site):
    _upsert(session, site, "ann@redwing.example", company="Redwing", company_id="c1")
    _upsert(
        session, site, "ben@redwing.example", company="Redwing Inc", company_id="c1"
    )

    assert _accounts(session, site.id)["crm:c1"][0] == "Redwing Inc"


def test_identify_groups_by_domain_and_the_form_company_names_it(
    anon_client, session, site
):
    view = pv(url="https://blog.example.com/pricing")
    events = batch(view, identify(view["p"], "Ann@Redwing.example", co="Redwing"))

    assert post_batch(anon_client, events).status_code == 204

    assert _accounts(session, site.id) == {
        "domain:redwing.example": ("Redwing", ["ann@redwing.example"])
    }


def test_the_crm_api_takes_company_id_and_name(anon_client, session, site):
    from tracker.tokens import create_token

    token = create_token(session, site.id, "crm", NOW)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "leads": [
            {"email": "ann@redwing.example", "company": "Redwing", "company_id": "77"},
            {"email": "cat@rw-labs.example", "company_id": "77"},
        ]
    }

    posted = anon_client.post("/api/leads", json=body, headers=headers)
    got = anon_client.get("/api/leads/cat@rw-labs.example", headers=headers)

    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert _accounts(session, site.id) == {
        "crm:77": ("Redwing", ["ann@redwing.example", "cat@rw-labs.example"])
    }
    lead = got.json["lead"]
    assert (lead["company_id"], lead["account"]["key"], lead["account"]["name"]) == (
        "77",
        "crm:77",
        "Redwing",
    )


def test_the_csv_import_takes_company_id_and_company_columns(session, site):
    text = (
        "email,company,company_id\n"
        "ann@redwing.example,Redwing,77\n"
        "ben@gmail.com,Redwing,77\n"
        "dan@globex.example,,\n"
    )

    summary = import_leads(session, site.id, text, now=NOW)
    session.commit()

    assert summary.errors == []
    assert _accounts(session, site.id) == {
        "crm:77": ("Redwing", ["ann@redwing.example", "ben@gmail.com"]),
        "domain:globex.example": ("globex.example", ["dan@globex.example"]),
    }


def test_a_merged_lead_follows_its_survivor(session, site):
    old = _upsert(session, site, "j.doe@oldco.example", crm_id="crm-old")
    survivor = _upsert(
        session, site, "jane@redwing.example", crm_id="crm-new", company_id="c1"
    )

    crm.merge_leads(session, site.id, old.id, survivor.id, now=NOW)
    session.commit()

    session.expire_all()
    assert (
        session.get(Lead, old.id).account_id
        == session.get(Lead, survivor.id).account_id
    )
    assert _accounts(session, site.id) == {
        "crm:c1": ("redwing.example", ["jane@redwing.example"])
    }  # the old company's account, left empty, is gone


def test_group_site_groups_leads_stored_before_accounts(session, site):
    lead = _upsert(session, site, "ann@redwing.example")
    lead.account_id = None
    session.execute(Account.__table__.delete())
    session.commit()

    assert group_site(session, site.id, NOW) == 1
    session.commit()
    assert list(_accounts(session, site.id)) == ["domain:redwing.example"]


# --- erasure --------------------------------------------------------------------------


def test_erasure_deletes_an_account_left_without_leads(session, site):
    _upsert(session, site, "ann@redwing.example", company="Redwing")
    _upsert(session, site, "dan@globex.example")
    _upsert(session, site, "eve@globex.example")

    result = erase(session, email="ann@redwing.example", actor="dpo", now=NOW)
    erase(session, email="dan@globex.example", actor="dpo", now=NOW)
    session.commit()

    assert result.removed["accounts"] == 1
    assert _accounts(session, site.id) == {
        "domain:globex.example": ("globex.example", ["eve@globex.example"])
    }
    assert session.scalars(select(Account.name)).all() == ["globex.example"]


# --- the collector's cost -------------------------------------------------------------


@pytest.fixture
def account_statements(app):
    """The SQL statements that touch ``accounts``, as the app's engine runs them."""
    from sqlalchemy import event

    engine = app.extensions["resonance.engine"]
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if "accounts" in statement:
            seen.append(statement.split("(")[0].strip())

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    ("visitors", "expected"),
    [
        # A new lead at a company: the one upsert (the lead is inserted in it).
        ([("v-redwing-01", "ann@redwing.example")], ["INSERT INTO accounts"]),
        # The same person from a second browser: nothing (already grouped).
        (
            [
                ("v-redwing-01", "ann@redwing.example"),
                ("v-redwing-02", "ann@redwing.example"),
            ],
            ["INSERT INTO accounts"],
        ),
        # Free mail: nothing at all.
        ([("v-gmail-0001", "fay@gmail.com")], []),
    ],
)
def test_an_identify_costs_at_most_one_account_statement(
    anon_client, site, account_statements, visitors, expected
):
    for visitor, email in visitors:
        view = pv(url="https://blog.example.com/pricing")
        events = batch(view, identify(view["p"], email), v=visitor)
        assert post_batch(anon_client, events).status_code == 204

    assert account_statements == expected
