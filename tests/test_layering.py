"""Data flows one way: snippet → tracker → database → dashboard.

Imports may only point "left": the tracker never imports the dashboard, queries
never import Flask, figures never import the database or the queries. Checked on
the source with ``ast`` so a backward import fails CI before it lands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "tracker/*.py": ("dashboard",),
    "tracker/models.py": ("flask", "resonance"),
    "tracker/ingest.py": ("flask",),
    "tracker/beacon.py": ("flask", "sqlalchemy", "resonance"),
    "tracker/urls.py": ("flask", "sqlalchemy", "resonance"),
    "resonance/auth/users.py": ("flask", "dashboard"),
    "dashboard/queries.py": ("flask", "resonance", "plotly"),
    "dashboard/sql.py": ("flask", "resonance", "plotly"),
    "dashboard/realtime_queries.py": ("flask", "resonance", "plotly"),
    "dashboard/localtime.py": ("flask", "sqlalchemy", "resonance", "tracker"),
    "dashboard/sales_queries.py": ("flask", "resonance", "plotly"),
    "dashboard/figures/*.py": (
        "flask",
        "sqlalchemy",
        "tracker",
        "resonance",
        "dashboard.queries",
        "dashboard.sales_queries",
        "dashboard.realtime_queries",
        "dashboard.sql",
    ),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _cases():
    for pattern, banned in FORBIDDEN.items():
        for path in sorted(ROOT.glob(pattern)):
            yield pytest.param(path, banned, id=str(path.relative_to(ROOT)))


@pytest.mark.parametrize(("path", "banned"), list(_cases()))
def test_module_imports_only_upstream(path: Path, banned: tuple[str, ...]):
    backwards = {
        name
        for name in _imports(path)
        for ban in banned
        if name == ban or name.startswith(ban + ".")
    }
    assert not backwards, f"{path.name} imports {sorted(backwards)}"


def test_only_ingest_writes_events():
    writers = {
        path.relative_to(ROOT).as_posix()
        for path in ROOT.glob("*/**/*.py")
        if "tests" not in path.parts
        and any(
            f"insert(session, {model})" in path.read_text()
            for model in ("PageView", "Click", "PageSection", "Identify")
        )
    }
    assert writers == {"tracker/ingest.py"}
