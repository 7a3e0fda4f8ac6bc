"""Bad input costs nobody their page: a bad date or a reversed range is shown
beside its field with the filter form kept and the data drawn as if the field
were empty (a 400 all the same, and a JSON 400 naming the field for scripts);
an id no table can hold is a 404, never a database error."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from conftest import csrf_headers, post_batch
from factories import batch, identify, pv
from sqlalchemy import select

from resonance.core.models import Content, Lead

BAD_DAY = "2026-13-45"
NOT_A_DATE = f"since: '{BAD_DAY}' is not a date like 2026-01-31"
HUGE = "99999999999999999999999"
JUST_TOO_BIG = str(2**31)  # one more than PostgreSQL's integer holds


@pytest.fixture
def ids(client, session, site) -> dict[str, int]:
    """One page view of the blog by a known lead: the content and lead ids."""
    view = pv(ti="A post about pricing")
    assert (
        post_batch(
            client, batch(view, identify(view["p"], "ada@acme.example"))
        ).status_code
        == 204
    )
    return {
        "content": session.scalar(select(Content.id)),
        "lead": session.scalar(select(Lead.id)),
    }


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _titles(soup: BeautifulSoup) -> list[str]:
    return [a.get_text(strip=True) for a in soup.select("table.data a.title")]


def test_an_invalid_date_is_shown_beside_its_field_and_the_list_as_if_empty(
    client, ids
):
    bad = client.get(f"/dash/sites/blog/content?since={BAD_DAY}&device=desktop")
    without = client.get("/dash/sites/blog/content?device=desktop")

    assert bad.status_code == 400
    soup = _soup(bad)
    field = soup.select_one("form.filters input[name=since]")
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "err-since"
    beside = field.find_parent("label").select_one("#err-since")
    assert f"'{BAD_DAY}' is not a date like 2026-01-31" in beside.get_text()
    assert (
        soup.select_one("form.filters select[name=device] option[selected]")["value"]
        == "desktop"
    )
    assert _titles(soup) == _titles(_soup(without)) == ["A post about pricing"]
    assert "From" in soup.select_one(".form-errors[role=alert]").get_text()


def test_the_json_twin_of_a_bad_date_is_a_400_naming_the_field(client, ids):
    twin = client.get(f"/dash/sites/blog/content?since={BAD_DAY}&format=json")

    assert twin.status_code == 400
    assert twin.json == {"error": NOT_A_DATE, "field": "since"}


def test_a_reversed_range_says_so_beside_the_fields_instead_of_showing_nothing(
    client, ids
):
    query = "since=2026-03-10&until=2026-03-01"
    page = client.get(f"/dash/sites/blog/content?{query}")
    twin = client.get(f"/dash/sites/blog/content?{query}&format=json")

    assert page.status_code == 400
    soup = _soup(page)
    message = soup.select_one("form.filters #err-until").get_text()
    assert "2026-03-01 is before From (2026-03-10)" in message
    assert soup.select_one("input[name=until]")["value"] == "2026-03-01"  # kept
    assert "No page views" not in soup.get_text()
    assert _titles(soup) == ["A post about pricing"]
    assert twin.status_code == 400 and twin.json["field"] == "until"


def test_one_day_is_a_range_not_a_reversed_one(client, ids):
    response = client.get("/dash/sites/blog/content?since=2026-03-01&until=2026-03-01")

    assert response.status_code == 200
    assert not _soup(response).select(".error")


def test_links_from_a_page_with_a_bad_date_leave_it_out(client, ids):
    soup = _soup(client.get(f"/dash/sites/blog/content?since={BAD_DAY}&device=desktop"))

    hrefs = [a["href"] for a in soup.select("table.data a")]
    assert hrefs and all(BAD_DAY not in href for href in hrefs)
    assert any("device=desktop" in href for href in hrefs)


def test_influence_keeps_its_form_and_figures_with_a_bad_date(client, ids):
    page = client.get(f"/dash/sites/blog/influence?until={BAD_DAY}&sort=title")
    twin = client.get(f"/dash/sites/blog/influence?until={BAD_DAY}&format=json")

    assert page.status_code == 400
    soup = _soup(page)
    assert soup.select_one("h1").get_text().startswith("Content influence")
    assert "is not a date" in soup.select_one("form.filters #err-until").get_text()
    assert soup.select_one("input[name=sort]")["value"] == "title"
    assert "1" in soup.select_one("ul.stats li strong").get_text()  # Ada read
    assert (twin.status_code, twin.json["field"]) == (400, "until")


def test_the_content_page_keeps_its_form_and_data_with_a_bad_date(client, ids):
    page = client.get(f"/dash/sites/blog/content/{ids['content']}?since={BAD_DAY}")
    twin = client.get(
        f"/dash/sites/blog/content/{ids['content']}?since={BAD_DAY}&format=json"
    )

    assert page.status_code == 400
    soup = _soup(page)
    assert soup.select_one("form.filters input[name=since]") is not None
    alert = soup.select_one(".form-errors[role=alert]").get_text()
    assert "From" in alert and f"'{BAD_DAY}' is not a date" in alert
    assert "page views" in soup.select_one("ul.stats").get_text()
    beside = soup.select_one("form.filters label.invalid")
    assert beside is not None and beside.select_one("input[name=since]")
    assert f"'{BAD_DAY}' is not a date" in beside.select_one(".error").get_text()
    assert twin.json == {"error": NOT_A_DATE, "field": "since"}


@pytest.mark.parametrize(
    "path",
    [
        f"content/{HUGE}",
        f"content/{JUST_TOO_BIG}",
        f"content/{HUGE}?format=json",
        f"snapshots/{HUGE}.png",
        f"prospects/{HUGE}",
        f"prospects/{JUST_TOO_BIG}?format=json",
        f"prospects/{HUGE}.csv",
        "content/0",
    ],
)
def test_an_id_no_table_can_hold_is_a_404(client, ids, path):
    response = client.get(f"/dash/sites/blog/{path}")
    response.close()

    assert response.status_code == 404


def test_posts_with_an_id_no_table_can_hold_are_refused_not_a_500(client, ids):
    headers = csrf_headers(client)
    snapshot = client.post(f"/dash/sites/blog/content/{HUGE}/snapshot", headers=headers)
    note_path = f"/dash/sites/blog/prospects/{ids['lead']}/notes"
    note = client.post(
        note_path, data={"content_id": HUGE, "body": "x"}, headers=headers
    )
    bad_lead = client.post(
        f"/dash/sites/blog/prospects/{HUGE}/notes",
        data={"content_id": ids["content"], "body": "x"},
        headers=headers,
    )

    assert snapshot.status_code == 404
    assert note.status_code == 400
    assert "content_id must be a content item" in note.get_data(as_text=True)
    assert bad_lead.status_code == 404
