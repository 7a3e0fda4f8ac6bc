"""The layers hold: import-linter's contracts (.importlinter) pass, a backward
import would break them, and only ``tracker.ingest`` writes the event tables
(tests/event_writers.py, checked on every statement the suite runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from event_writers import EventWriteOutsideIngest
from sqlalchemy import create_engine, text

from resonance.core.engine import upgrade

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("resonance", "tracker", "dashboard")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_import_contracts_hold():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "backward"),
    [
        ("resonance/core/db.py", "import tracker.ingest"),
        ("tracker/beacon.py", "import flask"),
        ("tracker/ingest.py", "from dashboard import views"),
        ("dashboard/figures.py", "from resonance.core import db"),
    ],
)
def test_a_backward_import_breaks_a_contract(
    tmp_path: Path, module: str, backward: str
):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "templates"),
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / module
    if not target.exists():  # a module that became a package
        target = target.with_suffix("") / "__init__.py"
    target.write_text(target.read_text() + f"\n{backward}  # noqa\n")

    done = _lint_imports(tmp_path)

    assert done.returncode != 0
    dotted = module.removesuffix(".py").replace("/", ".")
    assert f"{dotted} is not allowed to import" in done.stdout or (
        f"{dotted} ->" in done.stdout
    ), done.stdout


def _write_pageview_from(module_name: str, url: str, table: str = "pageviews") -> None:
    """Run an INSERT on ``table`` from code that belongs to ``module_name``."""
    code = compile(
        "def write(connection, text):\n"
        f"    connection.execute(text('INSERT INTO {table} (site_id) VALUES (1)'))\n",
        f"<{module_name}>",
        "exec",
    )
    namespace: dict = {"__name__": module_name}
    exec(code, namespace)  # noqa: S102 - the code above, as another module
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            namespace["write"](connection, text)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "rogue", ["dashboard.queries", "tracker.api", "resonance.demo"]
)
def test_an_event_write_outside_ingest_is_refused(tmp_path: Path, rogue: str):
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    upgrade(url)
    with pytest.raises(
        EventWriteOutsideIngest, match=f"{rogue} ran INSERT on pageviews"
    ):
        _write_pageview_from(rogue, url)


@pytest.mark.parametrize("rogue", ["tracker.ingest", "dashboard.queries"])
def test_a_summary_write_outside_tracker_summaries_is_refused(tmp_path, rogue):
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    upgrade(url)
    with pytest.raises(
        EventWriteOutsideIngest, match=f"{rogue} ran INSERT on section_totals: only"
    ):
        _write_pageview_from(rogue, url, table="section_totals")


def test_the_guard_lets_ingest_through_to_the_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    upgrade(url)
    # Past the guard, the database itself refuses the incomplete row: proof that
    # the statement was executed, not stopped.
    with pytest.raises(Exception, match="NOT NULL|not null|IntegrityError") as caught:
        _write_pageview_from("tracker.ingest", url)
    assert not isinstance(caught.value, EventWriteOutsideIngest)


# Modules stay small enough to read in one sitting. Generated Alembic scripts
# are data, not design; they are left out.
MAX_LINES = 450
NOT_DESIGNED = ("resonance/migrations/versions/",)


def test_no_module_grows_past_the_size_a_reader_can_hold():
    too_long = {}
    for package in (*PACKAGES, "bench"):
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name.startswith(NOT_DESIGNED):
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                too_long[name] = lines
    assert not too_long, f"split these by responsibility: {too_long}"
