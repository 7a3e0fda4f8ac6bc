"""SQL fragments in every query parameter and search box of the dashboard.

Each fragment goes to every parameter that ``dashboard/views.py`` and
``dashboard/sales_views.py`` read (and to the path's site key), on SQLite and
PostgreSQL: the answer is a 200 or a clear 4xx, never a 5xx, and not one row of
any table changed. Searches are literal: ``%``, ``_`` and ``\\`` find themselves,
not everything. A source guard keeps SQL from being built out of strings.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import csrf_headers, post_batch
from factories import batch, identify, pv
from sqlalchemy import select

from resonance.app import ROOT
from resonance.core.models import Base, Lead
from tracker import crm

FRAGMENTS = (
    "' OR 1=1 --",
    "' OR '1'='1",
    '"; DROP TABLE page_views; --',
    "'); DELETE FROM leads; --",
    "1 UNION SELECT email, name FROM leads --",
    "%",
    "_",
    "%_%",
    "\\",
    "\\%",
    "[a-z]*",
    "stage:' OR 1=1 --",
    "-views; DROP TABLE contents",
    "2026-01-01' OR '1'='1",
    "Ünïcødé ✓ 雪 🎉 \u202e",
    "\x00",
    "x" * 5000,
    "",
    " ",
)
# Sent percent-encoded as they are: broken UTF-8, a lone surrogate, NUL.
RAW = ("%FF%FE", "%ED%A0%80", "%00", "%C0%AF")
SITE = "/dash/sites/blog"
# Every query parameter a dashboard view reads, on the pages that read it.
PARAMETERS = {
    "/dash/": ("format",),
    f"{SITE}/content": (
        "q",
        "sort",
        "since",
        "until",
        "device",
        "segment",
        "internal",
        "group",
        "format",
    ),
    f"{SITE}/content/{{content}}": (
        "segment",
        "compare",
        "device",
        "since",
        "until",
        "internal",
        "format",
    ),
    f"{SITE}/prospects": ("q", "format"),
    f"{SITE}/prospects/{{lead}}": ("format",),
    f"{SITE}/prospects/{{lead}}.csv": ("format",),
    f"{SITE}/influence": ("sort", "since", "until", "format"),
}
PATH_PAGES = (
    "/dash/sites/{key}/content",
    "/dash/sites/{key}/prospects",
    "/dash/sites/{key}/influence",
    "/dash/sites/{key}/content/1",
)
TITLES = ("100% done", "100 done", "a_b", "axb", "C:\\path", "C:path")


@pytest.fixture
def seeded(client, session, site) -> dict[str, int]:
    """Content whose titles hold LIKE wildcards, and leads whose names do."""
    for n, title in enumerate(TITLES):
        view = pv(url=f"https://blog.example.com/t{n}", ti=title)
        events = [view, identify(view["p"], f"lead{n}@buyer.example")]
        assert (
            post_batch(client, batch(*events, v=f"visitor{n:04d}")).status_code == 204
        )
    now = datetime.now(UTC)
    for n, name in enumerate(TITLES):
        crm.upsert_lead(
            session, site.id, email=f"lead{n}@buyer.example", name=name, now=now
        )
    session.commit()
    lead = session.scalar(select(Lead.id).order_by(Lead.id))
    content = session.scalar(select(Base.metadata.tables["contents"].c.id))
    return {"lead": lead, "content": content}


def _rows(session) -> dict[str, list]:
    """Every row of every table, in a stable order."""
    session.expire_all()
    rows = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [
            tuple(row) for row in session.execute(select(table).order_by(*order))
        ]
    return rows


def _check(response, url: str) -> None:
    assert response.status_code < 500, f"{url} → {response.status_code}"
    assert response.status_code in (200, 400, 404), f"{url} → {response.status_code}"
    if response.status_code == 400 and "format=json" in url:
        assert response.is_json and response.get_json().get("error"), url


def test_sql_fragments_in_every_parameter_are_a_200_or_a_4xx_and_change_nothing(
    client, session, seeded
):
    before = _rows(session)
    asked = 0
    for template, names in PARAMETERS.items():
        path = template.format(**seeded)
        for name in names:
            for fragment in FRAGMENTS:
                for extra in ({}, {"format": "json"}):
                    args = extra | {name: fragment}
                    response = client.get(path, query_string=args)
                    _check(response, f"{path}?{name}={fragment[:30]!r}")
                    asked += 1
            for raw in RAW:
                url = f"{path}?{name}={raw}"
                twin = url if name == "format" else url + "&format=json"
                _check(client.get(url), url)
                _check(client.get(twin), twin)
                asked += 2
    for template in PATH_PAGES:
        for fragment in FRAGMENTS:
            if "/" in fragment or not fragment.strip():
                continue
            path = template.format(key=fragment)
            response = client.get(path)
            assert response.status_code in (400, 404), (
                f"{path!r} → {response.status_code}"
            )
            asked += 1
    print(f"\nSQL fragments: {len(FRAGMENTS)} fragments, {asked} requests")
    assert _rows(session) == before


def test_sql_fragments_in_the_note_form_are_stored_as_text_or_refused(
    client, session, seeded
):
    """The note form writes: a fragment is a note's text, stored verbatim, or
    refused with a 4xx; nothing else changes."""
    url = f"{SITE}/prospects/{seeded['lead']}/notes"
    headers = csrf_headers(client)
    stored = 0
    for fragment in FRAGMENTS:
        for key in ("body", "section", "content_id"):
            form = {"content_id": str(seeded["content"])}
            form |= {"body": "note", key: fragment}
            response = client.post(url, data=form, headers=headers)
            assert response.status_code in (303, 400), (key, fragment[:30])
            stored += response.status_code == 303
    notes = Base.metadata.tables["notes"]
    bodies = session.scalars(select(notes.c.body)).all()
    assert len(bodies) == stored
    assert "' OR 1=1 --" in bodies and '"; DROP TABLE page_views; --' in bodies
    assert session.scalar(select(Base.metadata.tables["pageviews"].c.id)) is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("%", ["100% done"]),
        ("_", ["a_b"]),
        ("\\", ["C:\\path"]),
        ("0% d", ["100% done"]),
        ("a_", ["a_b"]),
        ("' OR 1=1 --", []),
    ],
)
def test_content_search_matches_wildcards_literally(client, seeded, query, expected):
    page = client.get(f"{SITE}/content", query_string={"q": query, "format": "json"})
    assert sorted(row["title"] for row in page.get_json()["content"]) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("%", ["100% done"]), ("_", ["a_b"]), ("\\", ["C:\\path"]), ("'", [])],
)
def test_prospect_search_matches_wildcards_literally(client, seeded, query, expected):
    page = client.get(f"{SITE}/prospects", query_string={"q": query, "format": "json"})
    assert sorted(row["name"] for row in page.get_json()["prospects"]) == expected


# --- no SQL built from strings ------------------------------------------------------

SQL_CALLS = {"text", "literal_column", "exec_driver_sql", "execute", "executescript"}
LIKE_CALLS = {"like", "ilike", "notlike", "notilike"}
# (file, function) pairs allowed to build SQL or a LIKE pattern, each reviewed.
VETTED = {
    # LIKE suffixes from the demo's own constant PERSUASIVE paths, no input.
    ("resonance/demo/crm.py", "_leads"),
    # PRAGMA and SET take no bind parameters: integer constants of core.engine.
    ("resonance/core/engine.py", "_sqlite_pragmas"),
    ("resonance/core/engine.py", "_postgres_timeouts"),
    # ANALYZE takes no bind parameters: table names read from pg_class, each
    # quoted by the dialect's identifier preparer.
    ("tracker/table_stats.py", "refresh"),
}


def _built(node: ast.AST) -> bool:
    """Whether an expression builds a string at run time (f-string, %, +,
    .format, .join) rather than being a constant or a name."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
    )


def _violations(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line call() in function`` for each SQL or LIKE call whose first
    argument is built from strings, unless the function is vetted."""
    rel = path.relative_to(root).as_posix()
    found: list[str] = []

    class Visitor(ast.NodeVisitor):
        where = "<module>"

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            outer, self.where = self.where, node.name
            self.generic_visit(node)
            self.where = outer

        def visit_Call(self, node: ast.Call) -> None:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else None
            name = name or (func.id if isinstance(func, ast.Name) else None)
            flagged = name in SQL_CALLS | LIKE_CALLS and node.args
            if flagged and _built(node.args[0]) and (rel, self.where) not in VETTED:
                found.append(f"{rel}:{node.lineno} {name}() in {self.where}")
            self.generic_visit(node)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_no_sql_or_like_pattern_is_built_from_strings():
    """Values are bound parameters; LIKE searches use contains(autoescape=True)."""
    files = [
        path
        for package in ("tracker", "dashboard", "resonance")
        for path in (ROOT / package).rglob("*.py")
    ]
    assert len(files) > 20
    assert [v for path in files for v in _violations(path)] == []


def test_the_guard_flags_an_fstring_query_and_a_concatenated_like(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def bad(session, key):\n"
        "    session.execute(text(f\"SELECT * FROM sites WHERE key = '{key}'\"))\n"
        "    Site.name.like('%' + key + '%')\n"
        "    session.execute(select(Site).where(Site.key == key))\n"
    )
    assert _violations(probe, tmp_path) == [
        "probe.py:2 text() in bad",
        "probe.py:3 like() in bad",
    ]
