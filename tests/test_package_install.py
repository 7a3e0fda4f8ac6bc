"""Resonance as an installed package: a wheel in a fresh virtual environment,
run from another folder with the environment not activated.

Proves that the wheel carries everything the app serves (the snippet, the
dashboard's and the demo's files, the templates, the migrations, the WSGI
entry), that ``resonance serve`` needs neither the venv's scripts on PATH nor
the checkout, and that everything it writes lands in ``RESONANCE_DATA_DIR``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("resonance", "tracker", "dashboard")
# What a wheel build reads; the rest of the checkout (caches, the venv, the
# database, earlier builds) stays out of the copy built from.
NOT_BUILT_FROM = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "instance",
    "*.egg-info",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    "out",
)
PASSWORD = "a long and installed password"


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_holding_python_code_is_a_package_of_the_wheel():
    """pyproject.toml lists the packages (static/ is mapped into one), so a new
    subpackage must be added there or the wheel would lack it."""
    found = {
        ".".join(folder.relative_to(ROOT).parts)
        for package in PACKAGES
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir() and any(folder.glob("*.py"))
    }
    setuptools = _setuptools()
    assert set(setuptools["packages"]) == found | {"resonance.static"}
    assert setuptools["package-dir"] == {"resonance.static": "static"}


@dataclass
class Installed:
    """A virtual environment outside the checkout with the wheel installed."""

    venv: Path
    work: Path  # the folder commands run from
    data: Path  # RESONANCE_DATA_DIR
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *argv: str, stdin: str = "") -> str:
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.work,
            env=self.env,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def resonance(self, *args: str, stdin: str = "") -> str:
        return self.run(str(self.venv / "bin" / "resonance"), *args, stdin=stdin)


def _pip(venv: Path, *args: str) -> None:
    argv = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    done = subprocess.run(
        [*argv, "-q", *args],
        capture_output=True,
        text=True,
        env=_without_checkout(os.environ),
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"pip {args}:\n{done.stdout}\n{done.stderr}"


def _without_checkout(env: os._Environ | dict[str, str]) -> dict[str, str]:
    """``env`` without what would let a process find the checkout's packages or
    its virtual environment."""
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    clean = {k: v for k, v in env.items() if k not in dropped}
    clean["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not Path(entry).resolve().is_relative_to(ROOT)
    )
    return clean


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """Build the wheel from a copy of the working tree, install it with the
    locked dependencies into a new venv, and prepare a clean environment."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT_FROM)
    wheels = base / "wheels"
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _pip(venv, "wheel", "--no-deps", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("resonance-*.whl")
    _pip(
        venv,
        "install",
        "--no-deps",
        "--require-hashes",
        "-r",
        str(source / "requirements.lock"),
    )
    _pip(venv, "install", "--no-deps", str(wheel))
    _pip(venv, "check")

    work = base / "elsewhere"
    work.mkdir()
    data = base / "data"
    home = base / "home"  # nothing may fall back to the real user's folders
    home.mkdir()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "RESONANCE_DATA_DIR": str(data),
    }
    return Installed(venv=venv, work=work, data=data, env=env)


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """``resonance serve`` from the installed venv, stopped at the end."""
    installed.resonance("migrate")
    installed.resonance(
        "user", "add", "admin1", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = installed.work / "serve.log"
    argv = [str(installed.venv / "bin" / "resonance"), "serve", "--no-demo"]
    argv += ["--bind", f"127.0.0.1:{port}", "--threads", "4"]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            argv,
            cwd=installed.work,
            env=installed.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    try:
        try:
            wait_until(lambda: _status(base + "/healthz") == 200, seconds=60)
        except AssertionError:
            pytest.fail("resonance serve did not start:\n" + log_path.read_text())
        yield base
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _request(
    url: str, *, data: dict[str, str] | None = None, cookie: str = ""
) -> Answer:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with _opener.open(request, timeout=10) as answer:
            return Answer(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as answer:
        return Answer(answer.code, dict(answer.headers), answer.read())


def _status(url: str) -> int:
    try:
        return _request(url).status
    except OSError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("route", "built"), [("/r.js", "r.min.js"), ("/r2.js", "r2.min.js")]
)
def test_the_installed_package_serves_the_checkouts_snippet(
    served: str, route: str, built: str
):
    answer = _request(served + route)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert answer.body == (ROOT / "static" / "js" / built).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/css/dashboard.css", "text/css"),
        ("/static/js/dashboard.js", "text/javascript"),
        ("/demo/static/demo.css", "text/css"),
        ("/demo/", "text/html"),
        ("/healthz", "application/json"),
    ],
)
def test_the_installed_package_serves_its_files_and_pages(
    served: str, path: str, kind: str
):
    answer = _request(served + path)
    assert answer.status == 200, answer.body[:500]
    assert answer.headers["Content-Type"].startswith(kind)


@pytest.mark.slow
def test_a_user_added_with_the_installed_command_logs_in(served: str):
    page = _request(served + "/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
    assert page.status == 200 and token
    form = {"csrf_token": token.group(1).decode(), "username": "admin1"}
    answer = _request(
        served + "/login",
        data=form | {"password": PASSWORD},
        cookie=_session_cookie(page),
    )
    assert answer.status == 303, answer.body[:500]
    assert urllib.parse.urlsplit(answer.headers["Location"]).path == "/dash/"
    dashboard = _request(served + "/dash/", cookie=_session_cookie(answer))
    assert dashboard.status == 200
    assert b"csrf-token" in dashboard.body  # a page for a logged-in user


def _session_cookie(answer: Answer) -> str:
    found = re.search(r"session=([^;]+)", answer.headers.get("Set-Cookie", ""))
    assert found, f"no session cookie in {answer.headers}"
    return f"session={found.group(1)}"


@pytest.mark.slow
def test_what_the_installed_package_writes_lands_in_resonance_data_dir(
    installed: Installed, served: str
):
    assert (installed.data / "resonance.db").is_file()
    secret = installed.data / "secret_key"
    assert secret.is_file() and secret.stat().st_mode & 0o077 == 0
    assert not (installed.venv / "var").exists()
    home = Path(installed.env["HOME"])
    assert not (home / ".local").exists()  # the default data folder was not used


@pytest.mark.slow
def test_the_installed_package_imports_nothing_from_the_checkout(
    installed: Installed,
):
    names = ", ".join(PACKAGES)
    out = installed.run(
        str(installed.venv / "bin" / "python"),
        "-c",
        f"import {names}, resonance.wsgi\n"
        f"for m in ({names}, resonance.wsgi): print(m.__file__)\n"
        "print(resonance.wsgi.app.static_folder, resonance.wsgi.app.instance_path)",
    )
    *files, folders = out.splitlines()
    static, instance = folders.split()
    site_packages = installed.venv / "lib"
    for path in [*files, static]:
        assert Path(path).resolve().is_relative_to(site_packages), path
    assert Path(instance) == installed.data
