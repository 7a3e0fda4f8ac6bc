"""The OpenAPI document of ``/e`` and ``/api``: in step with the routes and the
models, and schemathesis against a live gunicorn finds no 5xx and no answer
that breaks the document.

schemathesis generates valid and invalid requests from the document (which is
itself generated from the validation models) and runs its checks on every
answer, except ``positive_data_acceptance``: a body can match the schema and
still be refused for reasons no schema can express (an unknown site key, a
timestamp in the future, a lead that does not exist), and those 4xx are right.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jsonschema
import pytest
import schemathesis
from conftest import ORIGIN
from factories import attention, batch, click, identify, layout, pv, scroll
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tracker.openapi import document
from tracker.tokens import create_token

EXAMPLES = 40
# Invalid data must be refused with a 4xx; a body over the size limit is refused
# before it is read, with 413 (schemathesis' default list lacks it).
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "413", "415"]
            }
        }
    }
)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, refs resolved in the document."""
    doc = document()
    schema = {"$ref": f"#/components/schemas/{name}"} | {
        "components": doc["components"]
    }
    return jsonschema.Draft202012Validator(schema)


def test_the_document_is_public_and_the_one_the_app_builds(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200  # no token needed
    assert response.get_json() == document()
    assert response.get_json()["openapi"] == "3.1.0"


def test_every_collector_and_api_route_is_documented_and_nothing_else(app):
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule == "/e" or rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method)
        for path, operations in document()["paths"].items()
        for method in operations
    }
    # /api/leads/<path:key> also answers GET /api/leads/merge (the lead "merge").
    assert documented == routes | {("/api/leads/merge", "get")}


def test_what_the_snippet_sends_matches_the_batch_schema():
    view = pv()
    p = view["p"]
    events = [
        view,
        click(p),
        scroll(p, 900),
        layout(p),
        attention(p, 4000, [[0, 3000]]),
        identify(p, "jane@example.com"),
    ]
    _validator("Batch").validate(batch(*events))


@pytest.mark.parametrize(
    "body",
    [
        batch(pv() | {"evil": 1}),
        batch(pv() | {"vw": "1440"}),
        batch(click("pv0000000001", tg="<script>")),
        {"s": "blog", "e": []},
    ],
)
def test_the_batch_schema_refuses_what_the_collector_refuses(client, site, body):
    assert list(_validator("Batch").iter_errors(body))
    response = client.post("/e", json=body, headers={"Origin": ORIGIN})
    assert response.status_code == 400


def test_a_batch_stored_without_some_events_answers_the_documented_200(client, site):
    view = pv()
    body = batch(view, identify(view["p"], "null"), click("pvneverstored"))

    response = client.post("/e", json=body, headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert "200" in document()["paths"]["/e"]["post"]["responses"]
    _validator("Refused").validate(response.get_json())
    assert [r["i"] for r in response.get_json()["refused"]] == [1, 2]


# --- schemathesis against the live server -------------------------------------------


@pytest.fixture
def api_token(session, site) -> str:
    token = create_token(session, site.id, "schemathesis", datetime.now(UTC))
    session.commit()
    return token


@pytest.fixture
def api_schema(live_server):
    """The document as the live server serves it."""
    return schemathesis.openapi.from_url(
        live_server + "/api/openapi.json", config=CONFIG
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    case, live_server, api_token
):
    headers = {"Authorization": f"Bearer {api_token}"} if "api" in case.path else {}
    case.call_and_validate(
        base_url=live_server,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
    )
