"""The CRM API under /api and its tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest
from conftest import count, post_batch
from factories import batch, identify, pv
from sqlalchemy import func, select

from resonance.cli import cli
from resonance.core.models import (
    ApiToken,
    IdentityLink,
    Lead,
    PageView,
    Site,
    StageChange,
)
from tracker.sites import create_site, update_site
from tracker.tokens import authenticate, create_token, revoke_token

NOW = datetime(2025, 1, 15, 12, 0)


@pytest.fixture
def token(session, site) -> str:
    value = create_token(session, site.id, "HubSpot", NOW)
    session.commit()
    return value


@pytest.fixture
def api(client, token):
    """Call the API as the blog site's CRM: ``api("post", "/leads", json=…)``."""

    def call(method: str, path: str, *, bearer: str | None = token, **kwargs):
        headers = kwargs.pop("headers", {})
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return getattr(client, method)("/api" + path, headers=headers, **kwargs)

    return call


@pytest.fixture
def other_token(session) -> str:
    """A token of another site."""
    other = create_site(session, "Shop", origins=[], key="shop")
    value = create_token(session, other.id, "Other CRM", NOW)
    session.commit()
    return value


def stage_event(event_id: str, stage: str, at: str, crm_id: str = "101") -> dict:
    return {
        "crm_id": crm_id,
        "stage": stage,
        "entered_at": at,
        "crm_event_id": event_id,
    }


# --- authentication -------------------------------------------------------------


def test_token_is_stored_only_as_its_sha256(session, site, token):
    stored = session.scalar(select(ApiToken.token_hash))

    assert token.startswith("rs_") and len(token) > 40
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer rs_wrong", "Basic dXNlcjpwYXNz", "Bearer", "rs_no_scheme"],
    ids=["missing", "wrong", "basic", "empty", "no-scheme"],
)
def test_requests_without_a_valid_token_are_401(client, session, token, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post("/api/leads", json={"crm_id": "101"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]
    assert count(session, Lead) == 0


def test_revoked_token_is_401(api, session, token):
    token_id = session.scalar(select(ApiToken.id))
    assert revoke_token(session, token_id, NOW)
    session.commit()

    response = api("get", "/leads/101")

    assert response.status_code == 401
    assert response.json == {"error": "unknown or revoked token"}


def test_authenticate_records_last_use(session, token):
    found = authenticate(session, f"bearer  {token} ", NOW)

    assert found is not None and found.last_used_at == NOW
    assert authenticate(session, f"Bearer {token}x", NOW) is None


# --- payload validation ---------------------------------------------------------


def _many(n: int) -> dict:
    return {"leads": [{"crm_id": str(i)} for i in range(n)]}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/leads", b"{", "malformed JSON"),
        ("/leads", b'{"crm_id": NaN}', "malformed JSON"),
        ("/leads", b'{"crm_id": "\\ud800"}', "malformed JSON"),
        ("/leads", b'{"crm_id": "a\\u0000b"}', "NUL"),
        ("/leads", b"[" * 5000 + b"]" * 5000, "malformed JSON"),
        ("/leads", b"\xff\xfe", "malformed JSON"),
        ("/leads", b"[]", "must be a JSON object"),
        ("/leads", b"null", "must be a JSON object"),
        ("/leads", {"email": "not-an-email"}, "email: not an e-mail address"),
        ("/leads", {"crm_id": 101}, "crm_id: Input should be a valid string"),
        ("/leads", {"crm_id": "   "}, "crm_id: String should have at least 1"),
        ("/leads", {"crm_id": "x" * 129}, "crm_id: String should have at most 128"),
        ("/leads", {"crm_id": "1", "name": "n" * 201}, "name: String should have at"),
        ("/leads", {"crm_id": "1", "company_id": ""}, "company_id: String should"),
        (
            "/leads",
            {"crm_id": "1", "company_id": "c" * 129},
            "company_id: String should have at most 128",
        ),
        ("/leads", {"crm_id": "1", "company_id": 7}, "company_id: Input should be"),
        ("/leads", {"crm_id": "1", "phone": "1"}, "phone: Extra inputs are not"),
        ("/leads", {"name": "Ada"}, "email or crm_id is required"),
        ("/leads", {"leads": []}, "leads: List should have at least 1 item"),
        ("/leads", _many(1001), "leads: List should have at most 1000 items"),
        ("/leads", {"leads": [{"crm_id": "1"}, "x"]}, "leads[1]: must be a JSON obj"),
        (
            "/stages",
            stage_event("e1", "sql", "2024-02-01T09:00:00"),
            "entered_at: Input should have timezone info",
        ),
        (
            "/stages",
            stage_event("e1", "sql", "01/02/2024"),
            "entered_at: Input should be a valid datetime",
        ),
        (
            "/stages",
            stage_event("e1", "sql", "9999-12-31T23:59:59-05:00"),
            "entered_at: must be between 1970 and 2100",
        ),
        (
            "/stages",
            {"crm_id": "1", "stage": "sql", "entered_at": "2024-02-01T09:00:00Z"},
            "crm_event_id: Field required",
        ),
        (
            "/stages",
            stage_event("e1", "", "2024-02-01T09:00:00Z"),
            "stage: String should have at least 1 character",
        ),
        ("/leads/merge", {"from": "1"}, "into: Field required"),
        ("/leads/merge", {"from": "1", "into": 2}, "into: Input should be a valid"),
    ],
)
def test_malformed_payload_is_400_naming_the_field(api, session, path, body, message):
    if isinstance(body, bytes):
        response = api("post", path, data=body, content_type="application/json")
    else:
        response = api("post", path, json=body)

    assert response.status_code == 400, response.json
    assert message in response.json["error"]
    assert count(session, Lead) == 0


def test_body_over_one_megabyte_is_413(api, session):
    body = json.dumps({"crm_id": "1", "name": "x" * (1024 * 1024)}).encode()

    response = api("post", "/leads", data=body, content_type="application/json")

    assert response.status_code == 413
    assert count(session, Lead) == 0


def test_batch_with_one_bad_item_stores_nothing(api, session):
    good = {"crm_id": "101", "email": "ada@example.com"}

    leads = api("post", "/leads", json={"leads": [good, {"email": "bad"}]})
    stages = api(
        "post",
        "/stages",
        json={
            "stages": [
                stage_event("e1", "sql", "2024-02-01T09:00:00Z"),
                stage_event("e2", "sql", "yesterday"),
            ]
        },
    )

    assert (leads.status_code, stages.status_code) == (400, 400)
    assert leads.json["error"].startswith("leads[1].email")
    assert stages.json["error"].startswith("stages[1].entered_at")
    assert (count(session, Lead), count(session, StageChange)) == (0, 0)


def test_conflict_in_a_batch_is_409_and_rolls_back_earlier_items(api, session):
    api("post", "/leads", json={"crm_id": "101", "email": "ada@example.com"})
    clash = {"crm_id": "102", "email": "ADA@example.com"}

    response = api("post", "/leads", json={"leads": [{"crm_id": "103"}, clash]})

    assert response.status_code == 409
    assert response.json["error"] == (
        "leads[1]: e-mail 'ada@example.com' belongs to the lead with crm_id '101'"
    )
    assert count(session, Lead) == 1


# --- leads and stages -----------------------------------------------------------


def test_post_leads_upserts_and_returns_ids_in_order(api, session):
    first = api("post", "/leads", json={"crm_id": "101", "name": "Ada"})
    second = api(
        "post",
        "/leads",
        json={
            "leads": [
                {"email": "bob@example.com"},
                {"crm_id": "101", "email": " Ada@Example.com", "company": "AE"},
            ]
        },
    )

    ada_id = first.json["leads"][0]["id"]
    assert first.status_code == second.status_code == 200
    assert second.json["leads"] == [
        {"id": ada_id + 1, "email": "bob@example.com", "crm_id": None},
        {"id": ada_id, "email": "ada@example.com", "crm_id": "101"},
    ]
    assert count(session, Lead) == 2


def test_snippet_identify_then_api_lead_with_same_email_is_one_lead(
    client, api, session, site
):
    view = pv()
    post_batch(client, batch(view, identify(view["p"], "Jane@Corp.example")))

    response = api(
        "post", "/leads", json={"email": "  JANE@corp.EXAMPLE ", "crm_id": "hs-9"}
    )

    lead = session.scalar(select(Lead))
    assert response.status_code == 200
    assert count(session, Lead) == 1
    assert (lead.email, lead.crm_id) == ("jane@corp.example", "hs-9")
    assert session.scalar(select(IdentityLink.lead_id)) == lead.id


def test_replayed_stage_event_counts_as_a_duplicate(api, session):
    event = stage_event("hs-evt-1", "salesqualifiedlead", "2024-02-01T09:00:00Z")

    first = api("post", "/stages", json=event)
    replay = api("post", "/stages", json=event)

    assert first.json == {"recorded": 1, "duplicates": 0}
    assert replay.json == {"recorded": 0, "duplicates": 1}
    assert count(session, StageChange) == 1


def test_late_stage_event_is_placed_in_order(api):
    api("post", "/stages", json=stage_event("e3", "customer", "2024-04-01T09:00:00Z"))
    api(
        "post",
        "/stages",
        json={
            "stages": [
                stage_event("e2", "opportunity", "2024-03-01T09:00:00Z"),
                stage_event("e1", "Sales Qualified Lead", "2024-02-01T10:00:00+01:00"),
            ]
        },
    )

    lead = api("get", "/leads/101").json["lead"]
    assert (lead["stage"], lead["reached_sales_at"]) == (
        "customer",
        "2024-02-01T09:00:00Z",
    )
    assert [s["crm_event_id"] for s in lead["stages"]] == ["e1", "e2", "e3"]


def test_reached_sales_is_kept_when_the_lead_moves_back(api):
    api(
        "post",
        "/stages",
        json={
            "stages": [
                stage_event("e1", "lead", "2024-01-01T00:00:00Z"),
                stage_event("e2", "sql", "2024-02-01T00:00:00Z"),
                stage_event("e3", "lead", "2024-03-01T00:00:00Z"),
            ]
        },
    )

    lead = api("get", "/leads/101").json["lead"]
    assert (lead["stage"], lead["reached_sales_at"]) == ("lead", "2024-02-01T00:00:00Z")


def test_site_threshold_mql_counts_an_mql_as_reached_sales(api, session, site):
    session.get(Site, site.id).reached_sales_stage = "mql"
    session.commit()

    api("post", "/stages", json=stage_event("e1", "MQL", "2024-01-05T00:00:00Z"))

    lead = api("get", "/leads/101").json["lead"]
    assert (lead["stage"], lead["reached_sales_at"]) == ("mql", "2024-01-05T00:00:00Z")


def test_get_lead_by_email_and_unknown_lead_is_404(api):
    api("post", "/leads", json={"crm_id": "101", "email": "ada@example.com"})

    found = api("get", "/leads/ADA@example.com")
    missing = api("get", "/leads/nobody@example.com")

    assert found.status_code == 200 and found.json["lead"]["crm_id"] == "101"
    assert found.json["lead"]["stages"] == []
    assert missing.status_code == 404
    assert "nobody@example.com" in missing.json["error"]


# --- merges ---------------------------------------------------------------------


def test_merge_moves_visitors_history_and_reading_to_the_survivor(
    client, api, session, site
):
    """Bob's browser read two pages, Ada's one; the CRM merges Bob into Ada."""
    for visitor, email, pages in (
        ("visitor-ada1", "ada@x.example", 1),
        ("visitor-bob1", "bob@x.example", 2),
    ):
        views = [pv(url=f"https://blog.example.com/p{i}") for i in range(pages)]
        events = [*views, identify(views[0]["p"], email)]
        assert post_batch(client, batch(*events, v=visitor)).status_code == 204
    api("post", "/leads", json={"email": "ada@x.example", "crm_id": "1"})
    api(
        "post",
        "/stages",
        json=stage_event("bob-sql", "sql", "2024-02-01T00:00:00Z", crm_id="2"),
    )
    api(
        "post", "/leads", json={"email": "bob@x.example", "crm_id": "2", "owner": "Sam"}
    )

    response = api("post", "/leads/merge", json={"from": "2", "into": "ada@x.example"})
    replay = api("post", "/leads/merge", json={"from": "bob@x.example", "into": "1"})

    survivor = response.json["lead"]
    assert response.status_code == replay.status_code == 200
    assert (survivor["crm_id"], survivor["owner"], survivor["stage"]) == (
        "1",
        "Sam",
        "sql",
    )
    assert survivor["reached_sales_at"] == "2024-02-01T00:00:00Z"
    reading = session.execute(
        select(IdentityLink.lead_id, func.count(PageView.id))
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .group_by(IdentityLink.lead_id)
    ).all()
    assert reading == [(survivor["id"], 3)]
    assert api("get", "/leads/2").json["lead"]["id"] == survivor["id"]


def test_merge_refuses_unknown_and_identical_leads(api, session):
    api("post", "/leads", json={"crm_id": "1"})

    unknown = api("post", "/leads/merge", json={"from": "1", "into": "404"})
    same = api("post", "/leads/merge", json={"from": "1", "into": "1"})

    assert unknown.status_code == 404 and "'404'" in unknown.json["error"]
    assert same.status_code == 400
    assert session.scalar(select(Lead.merged_into_id)) is None


# --- one site per token ---------------------------------------------------------


def test_token_of_another_site_cannot_see_or_touch_this_sites_leads(
    api, session, site, other_token
):
    api(
        "post",
        "/leads",
        json={"crm_id": "101", "email": "ada@example.com", "name": "Ada"},
    )
    api("post", "/leads", json={"crm_id": "102"})

    seen = api("get", "/leads/101", bearer=other_token)
    merged = api(
        "post", "/leads/merge", json={"from": "102", "into": "101"}, bearer=other_token
    )
    written = api(
        "post", "/leads", json={"crm_id": "101", "name": "Mallory"}, bearer=other_token
    )
    staged = api(
        "post",
        "/stages",
        json=stage_event("e1", "customer", "2024-01-01T00:00:00Z"),
        bearer=other_token,
    )

    assert (seen.status_code, merged.status_code) == (404, 404)
    assert (written.status_code, staged.status_code) == (200, 200)
    ours = session.scalars(
        select(Lead).where(Lead.site_id == site.id).order_by(Lead.id)
    ).all()
    assert [(lead.name, lead.stage, lead.merged_into_id) for lead in ours] == [
        ("Ada", None, None),
        (None, None, None),
    ]
    assert api("get", "/leads/101").json["lead"]["stages"] == []


# --- command line ---------------------------------------------------------------


def test_token_cli_creates_once_lists_without_secrets_and_revokes(
    runner, client, session, site
):
    created = runner.invoke(
        cli, ["token", "create", "--site", "blog", "--name", "HubSpot"]
    )
    secret = created.stdout.strip()
    listed = runner.invoke(cli, ["token", "list", "--site", "blog"])
    token_id = session.scalar(select(ApiToken.id))
    before = client.get("/api/leads/1", headers={"Authorization": f"Bearer {secret}"})
    revoked = runner.invoke(cli, ["token", "revoke", str(token_id)])
    after = client.get("/api/leads/1", headers={"Authorization": f"Bearer {secret}"})

    assert created.exit_code == 0, created.output
    assert secret.startswith("rs_")
    assert "shown once" in created.stderr
    assert listed.stdout.startswith(f"{token_id}\tblog\tHubSpot\tcreated ")
    assert secret not in listed.output
    assert (before.status_code, revoked.exit_code, after.status_code) == (404, 0, 401)
    assert "revoked" in runner.invoke(cli, ["token", "list"]).stdout


def test_token_cli_refuses_unknown_site_and_token(runner, session, site):
    unknown_site = runner.invoke(
        cli, ["token", "create", "--site", "nope", "--name", "x"]
    )
    unknown_token = runner.invoke(cli, ["token", "revoke", "99"])

    assert unknown_site.exit_code == unknown_token.exit_code == 2
    assert "no site with key 'nope'" in unknown_site.output
    assert "no active token with id 99" in unknown_token.output
    assert count(session, ApiToken) == 0


def test_changing_the_sites_threshold_re_decides_who_reached_sales(api, session, site):
    api("post", "/stages", json=stage_event("e1", "MQL", "2024-01-05T00:00:00Z"))
    assert api("get", "/leads/101").json["lead"]["reached_sales_at"] is None

    update_site(session, session.get(Site, site.id), reached_sales_stage="mql")
    session.commit()
    assert api("get", "/leads/101").json["lead"]["reached_sales_at"] == (
        "2024-01-05T00:00:00Z"
    )

    update_site(session, session.get(Site, site.id), reached_sales_stage="sql")
    session.commit()
    assert api("get", "/leads/101").json["lead"]["reached_sales_at"] is None
