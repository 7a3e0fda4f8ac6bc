"""Prospect search, the prospect page and its CSV, and notes, on SQLite and
PostgreSQL, from the known reading history of tests/test_dashboard_influence.py
(Ada, Bob and Cy; Ada and Bob reached sales)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from conftest import count, csrf_headers, post_batch
from factories import attention, batch, click, identify, layout, pv
from sqlalchemy import select
from test_dashboard_influence import (
    ADA,
    BOB,
    CY,
    DOCS,
    GUIDE,
    HOST,
    PRICING,
    moment,
    ms,
    seed_sales_readings,
)
from werkzeug.http import http_date, parse_date

from dashboard.sales_views import csv_cell
from resonance.core.models import Content, Lead, Note
from tracker import crm
from tracker.notes import NoteInvalid, add_note
from tracker.sites import create_site

NOW = datetime(2025, 4, 1)


def _json(client, path: str):
    response = client.get(f"/dash/sites/blog{path}", query_string={"format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _search(client, q: str) -> list[str]:
    response = client.get(
        "/dash/sites/blog/prospects", query_string={"q": q, "format": "json"}
    )
    assert response.status_code == 200
    return [p["email"] for p in response.json["prospects"]]


def _content_id(session, url: str) -> int:
    return session.scalar(select(Content.id).where(Content.url == url))


@pytest.fixture
def leads(client, session, site) -> dict[str, int]:
    """Ada, Bob and Cy's reading history; lead ids by e-mail."""
    return seed_sales_readings(client, session, site)


@pytest.fixture
def other_site_lead(session) -> int:
    """A lead of another site (it must never show on the blog's pages)."""
    other = create_site(
        session,
        "Other",
        origins=["https://other.example"],
        privacy_mode="always",
        key="other",
    )
    lead = crm.upsert_lead(session, other.id, email="eve@other.example", now=NOW).lead
    session.commit()
    return lead.id


# --- search ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("acme", [ADA]),
        ("GLOB", [BOB]),
        ("lOvElAcE", [ADA]),
        ("@widgets", [CY]),
        ("corp", [ADA]),
        ("nobody", []),
    ],
)
def test_search_matches_part_of_email_name_or_company_in_any_case(
    client, leads, q, expected
):
    assert _search(client, q) == expected


def test_search_lists_newest_activity_first_with_reading_counts(client, leads):
    """Last page views: Bob d11, Ada d6, Cy d4. Ada: 6 page views of 4 items, 3
    of them read (Guide d1, Pricing d2, Setup d6)."""
    prospects = _json(client, "/prospects")["prospects"]

    assert [p["email"] for p in prospects] == [BOB, ADA, CY]
    ada = prospects[1]
    assert ada == {
        "lead_id": leads[ADA],
        "email": ADA,
        "name": "Ada Lovelace",
        "company": "Acme Corp",
        "owner": "Sam Seller",
        "stage": "sql",
        "reached_sales_at": http_date(moment(5)),
        "pageviews": 6,
        "content_items": 4,
        "items_read": 3,
        "last_seen_at": http_date(moment(6)),
    }


@pytest.mark.parametrize(("q", "expected"), [("%", [CY]), ("_", []), ("a%e", [])])
def test_search_wildcards_in_the_query_are_literal(client, leads, q, expected):
    """Cy's company is "100% Widgets": "%" finds it and nothing else."""
    assert _search(client, q) == expected


def test_search_leaves_out_other_sites_and_merged_leads(
    client, session, site, leads, other_site_lead
):
    crm.merge_leads(session, site.id, leads[CY], leads[ADA], now=NOW)
    session.commit()

    assert _search(client, "example") == [BOB, ADA]


def test_search_page_escapes_crm_names(client, session, site):
    crm.upsert_lead(
        session, site.id, email="x@corp.example", name="<b>Boss</b>", now=NOW
    )
    session.commit()

    html = client.get("/dash/sites/blog/prospects?q=boss").get_data(as_text=True)

    assert "<b>Boss" not in html and "&lt;b&gt;Boss&lt;/b&gt;" in html


def test_search_of_unknown_site_is_a_404(client, site):
    assert client.get("/dash/sites/nope/prospects").status_code == 404


# --- the prospect page -------------------------------------------------------------


def test_prospect_header_says_who_and_where_in_the_funnel(client, leads):
    page = _json(client, f"/prospects/{leads[ADA]}")

    p = page["prospect"]
    assert (p["email"], p["name"], p["company"], p["owner"]) == (
        ADA,
        "Ada Lovelace",
        "Acme Corp",
        "Sam Seller",
    )
    assert (p["stage"], p["stage_raw"], p["reached_sales_at"]) == (
        "sql",
        "Sales Qualified Lead",
        http_date(moment(5)),
    )
    assert (p["visitors"], p["pageviews"]) == (2, 6)


def test_prospect_visits_newest_first_with_read_or_skimmed(client, leads):
    """Ada's two browsers, five visits (the two d4 views are 5 minutes apart).

    Read or skimmed: Guide has 460 words = 120 s expected, so 70 s is read even
    at 40 % scroll and 50 s is skimmed even at 100 %; the other pages have no
    word count: Pricing 45 s at 80 % is read, Case study 20 s at 100 % and
    Pricing 35 s at 50 % are skimmed, Setup 40 s at 90 % is read.
    """
    visits = _json(client, f"/prospects/{leads[ADA]}")["visits"]

    assert [
        (
            v["started_at"],
            [(r["title"], r["active_s"], r["verdict"]) for r in v["readings"]],
        )
        for v in visits
    ] == [
        (http_date(moment(6)), [("Setup", 40.0, "read")]),
        (
            http_date(moment(4)),
            [("Pricing", 35.0, "skimmed"), ("Guide", 50.0, "skimmed")],
        ),
        (http_date(moment(3, 0)), [("Case study", 20.0, "skimmed")]),
        (http_date(moment(2)), [("Pricing", 45.0, "read")]),
        (http_date(moment(1)), [("Guide", 70.0, "read")]),
    ]
    first_guide = visits[-1]["readings"][0]
    assert (first_guide["expected_s"], first_guide["scroll_pct"]) == (120.0, 40.0)


def test_prospect_reading_shows_top_sections_and_link_clicks(client, leads):
    """Sections got 5, 30, 20 and 15 s: the top three are shown, longest first.
    The click on a paragraph (not interactive) is left out."""
    visits = _json(client, f"/prospects/{leads[ADA]}")["visits"]

    guide = visits[-1]["readings"][0]
    assert guide["top_sections"] == [
        {"heading": "Why it matters", "active_s": 30.0},
        {"heading": "How to start", "active_s": 20.0},
        {"heading": "FAQ", "active_s": 15.0},
    ]
    assert guide["clicks"] == [
        {
            "clicked_at": http_date(moment(1)),
            "tag": "a",
            "text": "Book a demo",
            "href": HOST + "/demo",
        }
    ]


def test_prospect_summary_groups_thorough_reads_by_topic(client, leads):
    """Read thoroughly: Guide (70 s), Pricing (45 s), Setup (40 s). Topics: the
    first path segment, except /docs/** which the "Documentation" group names.
    Case study was only skimmed, so it is not known."""
    known = _json(client, f"/prospects/{leads[ADA]}")["known"]

    assert [
        (t["topic"], [i["title"] for i in t["items"]], t["active_s"]) for t in known
    ] == [
        ("/blog", ["Guide"], 70.0),
        ("/pricing", ["Pricing"], 45.0),
        ("Documentation", ["Setup"], 40.0),
    ]


@pytest.mark.parametrize(
    ("email", "expected"),
    [(CY, ["Case study", "ROI"]), (ADA, ["ROI"]), (BOB, [])],
)
def test_suggested_next_reads_rank_by_influence_and_skip_what_was_read(
    client, leads, email, expected
):
    """Read before sales, by influence: Case study, Pricing, ROI, Guide (Setup
    never before sales). Cy viewed Guide, Setup and Pricing; Ada all but ROI;
    Bob everything read before sales."""
    page = _json(client, f"/prospects/{leads[email]}")

    assert [s["title"] for s in page["suggestions"]] == expected


def test_prospect_page_renders_escaped_and_documents_the_read_rule(client, leads):
    html = client.get(f"/dash/sites/blog/prospects/{leads[ADA]}").get_data(as_text=True)

    assert "What they already know" in html and "Suggested next reads" in html
    assert "half the expected reading time" in html
    assert "Why it matters" in html and "Book a demo" in html


def test_prospect_of_another_site_or_unknown_is_a_404(client, leads, other_site_lead):
    assert (
        client.get(f"/dash/sites/blog/prospects/{other_site_lead}").status_code == 404
    )
    assert client.get("/dash/sites/blog/prospects/999999").status_code == 404
    assert client.get(f"/dash/sites/nope/prospects/{leads[ADA]}").status_code == 404
    assert (
        client.get(f"/dash/sites/blog/prospects/{other_site_lead}.csv").status_code
        == 404
    )


@pytest.fixture
def merged_pair(client, session, site) -> tuple[int, int]:
    """Two browsers that identified as two addresses the CRM then merged: the
    old lead (Guide on d1) into the new one (Pricing on d2)."""
    for visitor, email, url, day in (
        ("visitor-old-1", "old@acme.example", GUIDE, 1),
        ("visitor-new-1", "new@acme.example", PRICING, 2),
    ):
        view = pv(url=url, ts=ms(moment(day)), ti=url.rsplit("/", 1)[1].title())
        events = [view, identify(view["p"], email, ts=ms(moment(day)) + 1)]
        assert post_batch(client, batch(*events, v=visitor)).status_code == 204
    old, new = (
        session.scalar(select(Lead.id).where(Lead.email == email))
        for email in ("old@acme.example", "new@acme.example")
    )
    crm.merge_leads(session, site.id, old, new, now=NOW)
    session.commit()
    return old, new


def test_merged_into_lead_history_includes_both_browsers(client, merged_pair):
    old, new = merged_pair

    page = _json(client, f"/prospects/{new}")

    assert page["prospect"]["visitors"] == 2
    assert [r["url"] for v in page["visits"] for r in v["readings"]] == [PRICING, GUIDE]


def test_merged_away_lead_redirects_to_the_survivor(client, merged_pair):
    old, new = merged_pair

    response = client.get(f"/dash/sites/blog/prospects/{old}?format=json")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/dash/sites/blog/prospects/{new}?format=json"
    )


# --- CSV export ----------------------------------------------------------------------


def test_prospect_csv_has_one_row_per_page_view(client, leads):
    response = client.get(f"/dash/sites/blog/prospects/{leads[ADA]}.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "session_id",
        "session_started_at",
        "viewed_at",
        "title",
        "url",
        "active_s",
        "scroll_pct",
        "expected_s",
        "verdict",
        "top_sections",
        "link_clicks",
    ]
    assert [(r[2], r[3], r[8]) for r in rows[1:]] == [
        ("2025-03-07 12:00:00", "Setup", "read"),
        ("2025-03-05 12:05:00", "Pricing", "skimmed"),
        ("2025-03-05 12:00:00", "Guide", "skimmed"),
        ("2025-03-04 00:00:00", "Case study", "skimmed"),
        ("2025-03-03 12:00:00", "Pricing", "read"),
        ("2025-03-02 12:00:00", "Guide", "read"),
    ]
    assert rows[-1][9] == "Why it matters (30.0 s); How to start (20.0 s); FAQ (15.0 s)"


def test_prospect_csv_defuses_spreadsheet_formulas(client, session, site):
    """A title, a section heading and a link text typed by whoever wrote the
    page (or a hostile visitor) must not run as formulas in a spreadsheet."""
    view = pv(url=HOST + "/evil", ti='=HYPERLINK("https://evil.example","x")')
    pid = view["p"]
    events = [
        view,
        layout(pid, [[2, "-2+3 reasons", 0, 500]]),
        attention(pid, 40_000, [[0, 40_000]]),
        click(pid, tx="@SUM(A1)", h=HOST + "/demo"),
        identify(pid, "mallory@corp.example"),
    ]
    assert post_batch(client, batch(*events, v="visitor-mallory")).status_code == 204
    lead = session.scalar(select(Lead.id).where(Lead.email == "mallory@corp.example"))

    text = client.get(f"/dash/sites/blog/prospects/{lead}.csv").get_data(as_text=True)

    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[3] == '\'=HYPERLINK("https://evil.example","x")'
    assert row[9] == "'-2+3 reasons (40.0 s)"
    assert row[10] == f"'@SUM(A1) → {HOST}/demo"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\t=x", "'\t=x"),
        ("plain", "plain"),
        (-1.5, -1.5),
        (None, ""),
    ],
)
def test_csv_cell_quotes_only_text_that_starts_a_formula(value, cell):
    assert csv_cell(value) == cell


# --- notes ---------------------------------------------------------------------------


def _note(client, lead: int, **fields):
    return client.post(
        f"/dash/sites/blog/prospects/{lead}/notes",
        data=fields,
        headers=csrf_headers(client),
    )


def test_note_is_added_then_shown_escaped(client, session, leads):
    ada = leads[ADA]
    pricing = _content_id(session, PRICING)

    response = _note(
        client,
        ada,
        content_id=pricing,
        section="FAQ",
        body="<script>alert(1)</script> quoted the annual plan",
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/prospects/{ada}#notes-{pricing}")
    html = client.get(f"/dash/sites/blog/prospects/{ada}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; quoted the annual plan" in html
    notes = _json(client, f"/prospects/{ada}")["notes"]
    noted = next(n for n in notes if n["content_id"] == pricing)
    body = "<script>alert(1)</script> quoted the annual plan"
    assert [(n["author"], n["section"], n["body"]) for n in noted["notes"]] == [
        (client.user.username, "FAQ", body)
    ]


def test_a_note_is_signed_by_the_user_logged_in_whatever_the_form_says(
    login_as, session, leads
):
    sales = login_as("sales", sites=["blog"])
    guide = _content_id(session, GUIDE)

    response = sales.post(
        f"/dash/sites/blog/prospects/{leads[ADA]}/notes",
        json={"content_id": guide, "author": "The CEO", "body": "borrowed name"},
        headers=csrf_headers(sales),
    )

    assert response.status_code == 201
    note = session.scalars(select(Note)).one()
    assert note.author == sales.user.username != "The CEO"
    page = sales.get(f"/dash/sites/blog/prospects/{leads[ADA]}").get_data(as_text=True)
    assert 'name="author"' not in page  # no field to fill in


def test_note_json_post_answers_201(client, session, leads):
    response = client.post(
        f"/dash/sites/blog/prospects/{leads[BOB]}/notes",
        json={"content_id": _content_id(session, GUIDE), "body": "ok"},
        headers=csrf_headers(client),
    )

    assert response.status_code == 201
    assert count(session, Note) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"body": "fine", "section": "s" * 201}, "section"),
    ],
)
def test_invalid_note_is_a_400_with_the_field_named(
    client, session, leads, fields, field
):
    url = f"/dash/sites/blog/prospects/{leads[ADA]}/notes"
    payload = {"content_id": _content_id(session, DOCS), **fields}

    response = client.post(url, json=payload, headers=csrf_headers(client))

    assert response.status_code == 400
    assert list(response.json["errors"]) == [field]
    assert count(session, Note) == 0


def test_invalid_note_form_shows_the_error_by_the_field(client, session, leads):
    docs = _content_id(session, DOCS)

    response = _note(client, leads[ADA], content_id=docs, section="FAQ <b>", body="")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="err-body-{docs}">Write the note.</span>' in html
    assert 'value="FAQ &lt;b&gt;"' in html  # what was typed is kept, escaped


def test_note_about_a_lead_or_content_of_another_site_is_a_404(
    client, session, leads, other_site_lead
):
    guide = _content_id(session, GUIDE)

    other_lead = _note(client, other_site_lead, content_id=guide, body="x")
    missing_content = _note(client, leads[ADA], content_id=999999, body="x")

    assert (other_lead.status_code, missing_content.status_code) == (404, 404)
    assert count(session, Note) == 0


def test_note_from_another_origin_is_refused(client, session, leads):
    response = client.post(
        f"/dash/sites/blog/prospects/{leads[ADA]}/notes",
        data={"content_id": _content_id(session, GUIDE), "body": "x"},
        headers={"Origin": "https://evil.example", **csrf_headers(client)},
    )

    assert response.status_code == 403
    assert count(session, Note) == 0


def test_add_note_trims_and_refuses_blank_fields(session, leads, site):
    guide = _content_id(session, GUIDE)

    note = add_note(
        session, site.id, guide, leads[CY], "  Sam ", "  hello \n", " ", NOW
    )
    with pytest.raises(NoteInvalid) as refused:
        add_note(session, site.id, guide, None, "", "", None, NOW)

    assert (note.author, note.body, note.section) == ("Sam", "hello", None)
    assert set(refused.value.errors) == {"author", "body"}


def test_sales_pages_show_times_and_read_days_in_the_sites_zone(
    client, session, leads, site
):
    """Tokyo is UTC+9 all year: every time on the prospect pages moves by nine
    hours, is named, and the influence page's days are Tokyo days."""
    from tracker.sites import update_site

    ada = leads[ADA]
    utc = _json(client, "/prospects")["prospects"]
    seen = next(p for p in utc if p["lead_id"] == ada)["last_seen_at"]
    update_site(session, site, timezone="Asia/Tokyo")
    session.commit()

    listing = client.get("/dash/sites/blog/prospects").get_data(as_text=True)
    page = client.get(f"/dash/sites/blog/prospects/{ada}").get_data(as_text=True)
    influence = client.get("/dash/sites/blog/influence").get_data(as_text=True)

    tokyo = parse_date(seen) + timedelta(hours=9)
    assert "Last seen (Asia/Tokyo)" in listing
    assert tokyo.strftime("%Y-%m-%d %H:%M") in listing
    assert " UTC" not in page
    assert "Asia/Tokyo" in page
    assert "days in Asia/Tokyo" in influence
