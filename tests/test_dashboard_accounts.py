"""The account list and the account page, their JSON twins and CSV exports,
and who may open them, on SQLite and PostgreSQL, from a known history:

- Redwing (CRM company ``co-1``): Ann (sql) and Ben (lead), identified at
  redwing.example, and Cat at another domain, all three put in ``co-1`` by the
  CRM. Ann, Ben and Cat each read Pricing (d1, d2, d3 12:00: 60, 60, 45 s, scrolled
  to the end); Ben skimmed the Guide (d3 09:00, 10 s).
- globex.example (by domain): Dan viewed the Guide (d4 12:00) and the Case study
  (d4 13:00), 20 s each, 40 % scrolled, then reached sales (d6); Eve is known
  to the CRM only.
- initech.example: Ivy, known to the CRM, never seen.
- Fay (gmail.com) read Pricing on d5: free mail, no account.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from conftest import post_batch
from factories import attention, batch, identify, pv, scroll
from sqlalchemy import select

from resonance.core.models import Account, Lead
from tracker import crm
from tracker.sites import create_site

DAY0 = datetime(2026, 3, 2)
HOST = "https://blog.example.com"
PRICING, GUIDE, CASE = HOST + "/pricing", HOST + "/blog/guide", HOST + "/blog/case"
TITLES = {PRICING: "Pricing", GUIDE: "Guide", CASE: "Case study"}
PERIOD = {"since": "2026-03-02", "until": "2026-03-08"}


def at(day: int, hour: int = 12) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


# visitor, e-mail, url, when, active ms, scroll %
READINGS = [
    ("v-ann-00001", "ann@redwing.example", PRICING, at(1), 60_000, 100),
    ("v-ben-00001", "ben@redwing.example", PRICING, at(2), 60_000, 100),
    ("v-ben-00001", "ben@redwing.example", GUIDE, at(3, 9), 10_000, 40),
    ("v-cat-00001", "cat@rw-labs.example", PRICING, at(3), 45_000, 80),
    ("v-dan-00001", "dan@globex.example", GUIDE, at(4), 20_000, 40),
    ("v-dan-00001", "dan@globex.example", CASE, at(4, 13), 20_000, 40),
    ("v-fay-00001", "fay@gmail.com", PRICING, at(5), 60_000, 100),
]


def seed(client, session, site) -> dict[str, int]:
    """The history above through the collector and the CRM; lead ids by e-mail."""
    seen: set[str] = set()
    for visitor, email, url, when, active, pct in READINGS:
        t = _ms(when)
        view = pv(url=url, ts=t, ti=TITLES[url], vw=1440, vh=400, dh=1000)
        events = [view]
        if visitor not in seen:
            events.append(identify(view["p"], email, ts=t + 1))
            seen.add(visitor)
        if pct > 40:
            events.append(scroll(view["p"], pct * 10, 1000, ts=t + 2))
        events.append(attention(view["p"], active, [], ts=t + 3))
        response = post_batch(client, batch(*events, v=visitor))
        assert response.status_code == 204, response.get_data(as_text=True)
    now = at(8)
    for email in ("ann@redwing.example", "ben@redwing.example", "cat@rw-labs.example"):
        crm.upsert_lead(
            session, site.id, email=email, company="Redwing", company_id="co-1", now=now
        )
    for email in ("eve@globex.example", "ivy@initech.example"):
        crm.upsert_lead(session, site.id, email=email, now=now)
    leads = {
        e: session.scalar(select(Lead.id).where(Lead.email == e))
        for _, e, *_ in READINGS
    }
    for email, stage, day in (
        ("ann@redwing.example", "sql", 7),
        ("ben@redwing.example", "lead", 1),
        ("dan@globex.example", "sql", 6),
    ):
        crm.record_stage_change(
            session,
            site.id,
            leads[email],
            stage_raw=stage,
            entered_at=at(day),
            crm_event_id=f"{email}-{stage}",
            now=now,
        )
    session.commit()
    return leads


@pytest.fixture
def history(client, session, site) -> dict[str, int]:
    return seed(client, session, site)


def _account_id(session, key: str) -> int:
    return session.scalar(select(Account.id).where(Account.key == key))


def _get(client, path: str, **args):
    response = client.get(f"/dash/sites/blog{path}", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


# --- the list ---------------------------------------------------------------------


def test_the_list_puts_the_most_recently_engaged_first_with_its_figures(
    client, history
):
    rows = _get(client, "/accounts", format="json").json["rows"]

    assert [
        (
            r["name"],
            r["people"],
            r["pageviews"],
            r["pages_read"],
            [(s["stage"], s["people"]) for s in r["stages"]],
        )
        for r in rows
    ] == [
        ("globex.example", 2, 2, 0, [("sql", 1)]),
        ("Redwing", 3, 4, 1, [("lead", 1), ("sql", 1)]),
        ("initech.example", 1, 0, 0, []),
    ]
    assert [r["last_seen_at"] for r in rows] == [
        "Fri, 06 Mar 2026 13:00:00 GMT",
        "Thu, 05 Mar 2026 12:00:00 GMT",
        None,
    ]


def test_free_mail_readers_are_in_no_account(client, history, session):
    fay = session.scalar(select(Lead).where(Lead.email == "fay@gmail.com"))

    assert fay.account_id is None
    assert "fay@" not in _get(client, "/accounts.csv").get_data(as_text=True)
    names = [r["name"] for r in _get(client, "/accounts", format="json").json["rows"]]
    assert "gmail.com" not in names


def test_the_list_csv_has_one_row_per_account(client, history):
    text = _get(client, "/accounts.csv").get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "account_id",
        "name",
        "domain",
        "key",
        "people",
        "page_views",
        "pages_read",
        "stages",
        "last_seen_at",
    ]
    assert [row[1:] for row in rows[1:]] == [
        ["globex.example", "globex.example", "domain:globex.example", "2", "2", "0",
         "sql 1", "2026-03-06 13:00:00"],
        ["Redwing", "redwing.example", "crm:co-1", "3", "4", "1", "lead 1; sql 1",
         "2026-03-05 12:00:00"],
        ["initech.example", "initech.example", "domain:initech.example", "1", "0",
         "0", "", ""],
    ]  # fmt: skip


# --- one account --------------------------------------------------------------------


def test_the_account_page_says_three_people_at_redwing_read_pricing(
    client, history, session
):
    account = _account_id(session, "crm:co-1")

    html = _get(client, f"/accounts/{account}", **PERIOD).get_data(as_text=True)

    assert "<strong>3 people</strong> at Redwing read" in html
    assert ">Pricing</a>" in html
    assert "<strong>1 person</strong> at Redwing viewed" in html


def test_the_account_twin_has_people_content_and_suggestions(client, history, session):
    account = _account_id(session, "crm:co-1")

    report = _get(client, f"/accounts/{account}", format="json", **PERIOD).json

    assert report["account"]["name"] == "Redwing"
    assert [
        (p["email"], p["stage"], p["pageviews"], p["visits"], p["pages_read"])
        for p in report["people"]
    ] == [
        ("cat@rw-labs.example", None, 1, 1, 1),
        ("ben@redwing.example", "lead", 2, 2, 1),
        ("ann@redwing.example", "sql", 1, 1, 1),
    ]
    assert report["people"][1]["recent"] == ["Guide", "Pricing"]
    assert [
        (c["title"], c["people"], c["readers"], c["views"], c["active_s"])
        for c in report["content"]
    ] == [("Pricing", 3, 3, 3, 165.0), ("Guide", 1, 0, 1, 10.0)]
    # Dan read the Guide and the Case study before sales; Redwing viewed the Guide.
    assert [(s["title"], s["readers_before_sales"]) for s in report["suggestions"]] == [
        ("Case study", 1)
    ]


def test_the_period_bounds_the_content_read(client, history, session):
    account = _account_id(session, "crm:co-1")

    report = _get(
        client,
        f"/accounts/{account}",
        format="json",
        since="2026-03-05",
        until="2026-03-05",
    ).json

    assert [(c["title"], c["people"], c["readers"]) for c in report["content"]] == [
        ("Pricing", 1, 1),
        ("Guide", 1, 0),
    ]


def test_the_account_csv_has_a_row_per_person_and_item(client, history, session):
    account = _account_id(session, "crm:co-1")

    text = _get(client, f"/accounts/{account}.csv", **PERIOD).get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1:] == [
        "email",
        "name",
        "title",
        "url",
        "views",
        "read",
        "active_s",
        "last_viewed_at",
    ]
    assert [row[1:] for row in rows[1:]] == [
        ["cat@rw-labs.example", "", "Pricing", PRICING, "1", "yes", "45.0",
         "2026-03-05 12:00:00"],
        ["ben@redwing.example", "", "Guide", GUIDE, "1", "no", "10.0",
         "2026-03-05 09:00:00"],
        ["ben@redwing.example", "", "Pricing", PRICING, "1", "yes", "60.0",
         "2026-03-04 12:00:00"],
        ["ann@redwing.example", "", "Pricing", PRICING, "1", "yes", "60.0",
         "2026-03-03 12:00:00"],
    ]  # fmt: skip


def test_the_people_link_to_their_prospect_pages(client, history, session):
    account = _account_id(session, "crm:co-1")

    html = _get(client, f"/accounts/{account}", **PERIOD).get_data(as_text=True)

    for email in ("ann@redwing.example", "ben@redwing.example"):
        assert f'href="/dash/sites/blog/prospects/{history[email]}"' in html


def test_a_hostile_company_name_is_shown_as_text(client, history, session):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    crm.upsert_lead(
        session,
        session.scalar(select(Lead.site_id).limit(1)),
        email="ann@redwing.example",
        company=hostile,
        company_id="co-1",
        now=at(9),
    )
    session.commit()
    account = _account_id(session, "crm:co-1")

    pages = [
        _get(client, "/accounts").get_data(as_text=True),
        _get(client, f"/accounts/{account}", **PERIOD).get_data(as_text=True),
    ]

    for html in pages:
        assert hostile not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


# --- who may open them ---------------------------------------------------------------


@pytest.fixture
def other_site(session):
    site = create_site(
        session, "Other", origins=["https://other.example"], key="other",
        privacy_mode="always",
    )  # fmt: skip
    session.commit()
    return site


@pytest.mark.parametrize("path", ["/accounts", "/accounts.csv", "/accounts/{id}",
                                  "/accounts/{id}.csv"])  # fmt: skip
def test_sales_of_another_site_get_a_404_as_for_prospects(
    login_as, history, session, other_site, path
):
    url = "/dash/sites/blog" + path.format(id=_account_id(session, "crm:co-1"))
    outsider = login_as("sales", sites=["other"])
    insider = login_as("sales", sites=["blog"])

    assert outsider.get(url).status_code == 404
    assert insider.get(url, query_string=PERIOD).status_code == 200


def test_a_marketer_is_refused_as_for_prospects(login_as, history, session):
    marketer = login_as("marketer", sites=["blog"])

    assert marketer.get("/dash/sites/blog/accounts").status_code == 403
    assert marketer.get("/dash/sites/blog/prospects").status_code == 403


def test_another_sites_account_id_is_not_found(client, history, session, other_site):
    crm.upsert_lead(session, other_site.id, email="zed@zeta.example", now=at(1))
    session.commit()
    zeta = _account_id(session, "domain:zeta.example")

    assert client.get(f"/dash/sites/blog/accounts/{zeta}").status_code == 404
    assert client.get(f"/dash/sites/other/accounts/{zeta}").status_code == 200


def test_the_header_offers_accounts_after_prospects(login_as, history):
    sales = login_as("sales", sites=["blog"])

    html = sales.get("/dash/sites/blog/accounts").get_data(as_text=True)

    assert html.index(">Prospects<") < html.index(">Accounts<")
