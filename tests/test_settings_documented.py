"""Every setting the code reads is documented where operators look for it.

A setting is any ``RESONANCE_*`` environment variable the code reads by name,
and any Flask config key the code reads (``app.config["KEY"]``,
``config.get("KEY")``): ``config.configure`` lets ``RESONANCE_<KEY>`` set each
of them. Each must be named in the README's settings table or in docs/.
Found by reading the source with ``ast``, so a new ``config["NEW"]`` fails here
until its row is written.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("resonance", "tracker", "dashboard")
# Read under their own names (twelve-factor conventions), not RESONANCE_*.
OWN_NAMES = {"DATABASE_URL", "SECRET_KEY", "REDIS_URL"}
# Set by Flask, its extensions or the tests, never by an operator.
INTERNAL = {"TESTING", "DEBUG", "RATELIMIT_STORAGE_URI", "RATELIMIT_KEY_PREFIX"}
ENV_NAME = re.compile(r"^RESONANCE_[A-Z0-9_]+$")


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "VALUE"`` strings (keys kept in a constant)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _key(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _reads_config(node: ast.expr) -> bool:
    """``….config`` (``app.config``, ``current_app.config``)."""
    return isinstance(node, ast.Attribute) and node.attr == "config"


def settings_read(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    constants = _constants(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and _reads_config(node.value):
            key = _key(node.slice, constants)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _reads_config(node.func.value)
            and node.args
        ):
            key = _key(node.args[0], constants)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ENV_NAME.match(node.value):
                found.add(node.value)
        if key and key.isupper() and key not in INTERNAL:
            found.add(key if key in OWN_NAMES else f"RESONANCE_{key}")
    return found


def every_setting() -> dict[str, set[str]]:
    where: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for name in settings_read(path):
                where.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return where


def documentation() -> str:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_every_setting_the_code_reads_is_documented():
    docs = documentation()
    missing = {
        name: sorted(files)
        for name, files in every_setting().items()
        if f"`{name}`" not in docs and f"{name}=" not in docs
    }
    assert not missing, f"undocumented settings (name: read in): {missing}"


def test_the_scan_finds_the_settings_it_must():
    """The scan itself works: settings read in different ways are all found."""
    found = every_setting()
    for name in (
        "DATABASE_URL",  # app.config["DATABASE_URL"], under its own name
        "RESONANCE_PROXY_COUNT",  # app.config["PROXY_COUNT"]
        "RESONANCE_METRICS_TOKEN",  # app.config.get(TOKEN_KEY), a constant
        "RESONANCE_DATA_DIR",  # os.environ.get("RESONANCE_DATA_DIR")
    ):
        assert name in found, name


def test_an_undocumented_setting_is_caught(tmp_path: Path):
    module = tmp_path / "new_feature.py"
    module.write_text(
        "from flask import current_app\n"
        'LIMIT = "NEW_FEATURE_LIMIT"\n'
        "def limit():\n"
        "    return current_app.config.get(LIMIT), current_app.config['OTHER_KEY']\n"
    )
    assert settings_read(module) == {
        "RESONANCE_NEW_FEATURE_LIMIT",
        "RESONANCE_OTHER_KEY",
    }
    assert "`RESONANCE_NEW_FEATURE_LIMIT`" not in documentation()
