"""Hypothesis fuzzes the collector through the Flask test client, on SQLite and
PostgreSQL: arbitrary bytes, arbitrary JSON, and valid batches with one part
mutated. Whatever arrives, the answer is never a 5xx, a refused batch stores
nothing at all (the row count of every table is unchanged), and an event refused
alone (a 200 naming it) is not stored while the rest of its batch is.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import post_batch
from factories import attention, batch, click, identify, layout, pv, scroll
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from resonance.core.models import Base, Click, Identify, PageView

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERS = {200, 204, 400, 403, 404, 413}
TRIED: Counter[str] = Counter()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print(f"\nfuzz: bodies tried per strategy (all backends): {dict(TRIED)}")


def _rows(session) -> dict[str, int]:
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _stored_ids(session) -> set[str]:
    session.expire_all()
    return {
        event_id
        for model in (PageView, Click, Identify)
        for event_id in session.scalars(select(model.event_id))
    }


def _send(client, session, body: bytes, kind: str) -> int:
    """POST one body; refused means nothing stored, and an event refused alone
    is not stored."""
    TRIED[kind] += 1
    before = _rows(session)
    stored_before = _stored_ids(session)
    response = post_batch(client, body)
    assert response.status_code in ANSWERS, (response.status_code, body[:200])
    if response.status_code == 200:
        refused = response.get_json()["refused"]
        assert refused and all(r["error"] for r in refused), refused
        new = _stored_ids(session) - stored_before
        assert not new & {r["id"] for r in refused}, body[:200]
    elif response.status_code != 204:
        assert response.is_json and response.get_json()["error"]
        assert _rows(session) == before, body[:200]
    return response.status_code


@FUZZ
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes_never_give_a_5xx_and_store_nothing(
    client, session, site, body
):
    _send(client, session, body, "bytes")


@FUZZ
@given(value=json_values, wrap=st.booleans())
def test_arbitrary_json_never_gives_a_5xx_and_stores_nothing(
    client, session, site, value, wrap
):
    """Any JSON value, alone or where the batch's events go."""
    shape = {"s": "blog", "v": "visitor0001", "e": value} if wrap else value
    _send(client, session, json.dumps(shape).encode(), "json")


def _valid_batch() -> dict:
    view = pv()
    p = view["p"]
    return batch(
        view,
        layout(p),
        scroll(p, 900),
        attention(p, 4000, [[0, 3000], [1, 1000]]),
        click(p),
        identify(p, "jane@example.com"),
    )


def _paths(value, prefix=()) -> list[tuple]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _mutate(document, path: tuple, action: str, replacement):
    if not path:
        return replacement
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    elif action == "extra key" and isinstance(parent[last], dict):
        parent[last]["zz"] = replacement
    else:
        parent[last] = replacement
    return document


@FUZZ
@given(data=st.data())
def test_mutated_valid_batches_never_give_a_5xx_and_refusals_store_nothing(
    client, session, site, data
):
    """One part of a valid batch deleted, replaced, duplicated or extended."""
    document = _valid_batch()
    path = data.draw(st.sampled_from(_paths(document)))
    action = data.draw(st.sampled_from(["replace", "delete", "duplicate", "extra key"]))
    replacement = data.draw(json_values)
    mutated = _mutate(document, path, action, replacement)
    status = _send(client, session, json.dumps(mutated).encode(), "mutated")
    TRIED[f"mutated → {status}"] += 1


@FUZZ
@given(key=st.text(max_size=80))
def test_any_site_key_in_the_config_request_is_a_200_or_a_4xx(client, site, key):
    TRIED["GET /e?s="] += 1
    response = client.get("/e", query_string={"s": key})
    assert response.status_code in (200, 400, 404)
    assert response.is_json


def test_the_fuzzer_reaches_acceptance_too(client, session, site):
    """A mutation that leaves the batch valid is stored (the fuzz is not only
    feeding the parser's error path)."""
    assert _send(client, session, json.dumps(_valid_batch()).encode(), "valid") == 204
