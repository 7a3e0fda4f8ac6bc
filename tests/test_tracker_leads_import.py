"""CSV import of leads and stages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import count
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import Account, Lead, StageChange
from tracker import crm
from tracker.leads_import import ImportFileError, ImportSummary, import_leads

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LEADS = FIXTURES / "leads.csv"
HUBSPOT = FIXTURES / "leads_hubspot.csv"
MAPPED = FIXTURES / "leads_mapped.csv"
NOW = datetime(2025, 1, 15, 12, 0)

LEADS_ERRORS = [
    "line 4: email 'not-an-email' is not an e-mail address",
    "line 6: neither email nor crm_id is given",
    "line 10: stage_changed_at '01/03/2024' is not an ISO 8601 date "
    "like 2024-03-01 or 2024-03-01T09:30:00Z",
]


def run_import(session, site, source, **kwargs) -> ImportSummary:
    summary = import_leads(session, site.id, source, now=NOW, **kwargs)
    session.commit()
    return summary


def leads(session) -> list[tuple]:
    session.expire_all()
    return [
        (lead.email, lead.crm_id, lead.name, lead.company, lead.stage)
        for lead in session.scalars(select(Lead).order_by(Lead.id))
    ]


def test_good_bad_and_duplicate_rows_give_an_exact_summary(session, site):
    summary = run_import(session, site, LEADS)

    assert summary == ImportSummary(
        imported=4, updated=1, unchanged=1, errors=LEADS_ERRORS, stages_recorded=4
    )
    assert leads(session) == [
        ("ada@example.com", "101", "Ada Lovelace", "Analytical Engines", "sql"),
        ("grace@example.com", "103", "Grace Hopper", "Navy, US", "mql"),
        ("linus@example.com", None, "Linus", "Multi\r\nline Inc", None),
        ("carol@example.com", "105", "Carol", None, "opportunity"),
    ]
    ada = crm.find_lead(session, site.id, "ada@example.com")
    assert ada.reached_sales_at == datetime(2024, 2, 1, 9, 0)
    carol = crm.find_lead(session, site.id, "105")
    assert [c.crm_event_id for c in crm.stage_history(session, carol.id)] == [
        "hs-evt-9"
    ]
    assert crm.stage_history(session, carol.id)[0].entered_at == datetime(
        2024, 4, 2, 8, 0
    )


def test_reimporting_the_same_file_changes_nothing(session, site):
    run_import(session, site, LEADS)
    before = (leads(session), count(session, Lead), count(session, StageChange))

    again = run_import(session, site, LEADS)

    assert again == ImportSummary(
        imported=0, updated=0, unchanged=6, errors=LEADS_ERRORS, stages_recorded=0
    )
    assert (leads(session), count(session, Lead), count(session, StageChange)) == before


def test_hubspot_export_with_bom_and_semicolons_maps_names_and_stages(session, site):
    first = run_import(session, site, HUBSPOT)
    again = run_import(session, site, HUBSPOT.read_bytes())

    assert (first.imported, first.stages_recorded, first.errors) == (4, 4, [])
    assert (again.unchanged, again.stages_recorded) == (4, 0)
    assert leads(session) == [
        ("jane@corp.example", "501", "Jane Doe", "Corp", "mql"),
        ("john@corp.example", "502", "John Roe", "Corp", "sql"),
        ("ann@corp.example", "503", "Ann Bee", "Corp", "customer"),
        ("cy@corp.example", "504", "Cy Dee", "Corp", "evangelist"),
    ]
    jane = crm.find_lead(session, site.id, "501")
    john = crm.find_lead(session, site.id, "502")
    assert (jane.owner, jane.stage_raw) == ("Sam Seller", "Marketing Qualified Lead")
    # A stage column without a date is the stage as of the import.
    assert (jane.reached_sales_at, john.reached_sales_at) == (None, NOW)


def test_undated_stage_is_recorded_again_when_it_changed(session, site):
    for day, stage in ((1, "lead"), (2, "sql"), (3, "lead")):
        back = import_leads(
            session, site.id, f"crm_id,stage\n7,{stage}\n", now=datetime(2025, 2, day)
        )
        session.commit()

    lead = crm.find_lead(session, site.id, "7")
    assert (back.updated, back.stages_recorded) == (1, 1)
    assert (lead.stage, count(session, StageChange)) == ("lead", 3)
    assert lead.reached_sales_at == datetime(2025, 2, 2)


def test_import_reaches_the_lead_the_snippet_created(session, site):
    crm.upsert_lead(session, site.id, email="ada@example.com", now=NOW)
    session.commit()

    summary = run_import(session, site, "Email,Record ID\n ADA@example.com ,101\n")

    assert (summary.imported, summary.updated) == (0, 1)
    assert leads(session) == [("ada@example.com", "101", None, None, None)]


def test_conflicting_row_is_reported_and_the_rest_imported(session, site):
    text = (
        "email,crm_id\nada@example.com,101\nada@example.com,102\nbob@example.com,103\n"
    )

    summary = run_import(session, site, text)

    assert summary.errors == [
        "line 3: e-mail 'ada@example.com' belongs to the lead with crm_id '101'"
    ]
    assert (summary.imported, count(session, Lead)) == (2, 2)


@pytest.mark.parametrize(
    ("text", "mapping", "message"),
    [
        ("", {}, "the file is empty"),
        ("name,company\nAda,AE\n", {}, "neither an email nor a crm_id column"),
        ("email\na@b.co\n", {"phone": "Tel"}, "--map phone=…: unknown field"),
        ("email\na@b.co\n", {"company": "Org"}, "the header has no column 'Org'"),
        (b"email\n\xff@b.co\n", {}, "the file is not UTF-8"),
    ],
)
def test_unusable_file_is_refused_whole(session, site, text, mapping, message):
    with pytest.raises(ImportFileError, match=message):
        import_leads(session, site.id, text, mapping=mapping, now=NOW)


def test_row_with_extra_fields_or_overlong_values_is_skipped(session, site):
    text = f"email,name\na@b.co,A,surplus\nb@b.co,{'n' * 201}\nc@b.co,C\n"

    summary = run_import(session, site, text)

    assert summary.errors == [
        "line 2: 3 fields where the header has 2",
        "line 3: name is longer than 200 characters",
    ]
    assert leads(session) == [("c@b.co", None, "C", None, None)]


def test_cli_import_with_map_prints_the_summary(runner, session, site):
    result = runner.invoke(
        cli,
        [
            "import-leads",
            str(MAPPED),
            "--site",
            "blog",
            "--map",
            "email=Mail",
            "--map",
            "company=Organisation",
        ],
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "1 imported, 0 updated, 0 unchanged, 0 errors (0 stage changes recorded)"
    )
    assert leads(session) == [("zoe@example.com", None, "Zoe Zed", "Zed Ltd", None)]


def test_cli_import_reports_bad_rows_with_line_numbers(runner, session, site):
    result = runner.invoke(cli, ["import-leads", str(LEADS), "--site", "blog"])

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    progress = [line for line in lines if line.startswith("import-leads: ")]
    assert [line for line in lines if line not in progress] == LEADS_ERRORS
    assert progress[-1].startswith("import-leads: 10/10 rows 100%")
    assert result.stdout.startswith("4 imported, 1 updated, 1 unchanged, 3 errors")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--site", "nope"], 2, "no site with key 'nope'"),
        (["--site", "blog", "--map", "email"], 2, "use FIELD=COLUMN"),
        (["--site", "blog", "--map", "email=Nope"], 1, "no column 'Nope'"),
    ],
)
def test_cli_import_refuses_bad_arguments(runner, session, site, args, code, message):
    result = runner.invoke(cli, ["import-leads", str(MAPPED), *args])

    assert result.exit_code == code
    assert message in result.output
    assert count(session, Lead) == 0


def test_company_id_column_by_its_hubspot_name_groups_the_leads(session, site):
    text = (
        "Email,Company Name,Associated Company ID\n"
        "ann@redwing.example,Redwing,881\n"
        "cat@rw-labs.example,Redwing,881\n"
        f"dan@globex.example,Globex,{'9' * 129}\n"
    )

    summary = run_import(session, site, text)

    assert summary.errors == ["line 4: company_id is longer than 128 characters"]
    session.expire_all()
    rows = session.execute(
        select(Lead.email, Lead.company_crm_id, Account.key, Account.name)
        .join(Account, Account.id == Lead.account_id)
        .order_by(Lead.email)
    ).all()
    assert rows == [
        ("ann@redwing.example", "881", "crm:881", "Redwing"),
        ("cat@rw-labs.example", "881", "crm:881", "Redwing"),
    ]
