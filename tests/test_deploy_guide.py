"""The deploy guide (docs/install-deploy.md), followed as written on this machine.

Owns: proving that the files the guide shows are the files in ``docs/deploy/``
(so the two cannot drift apart), that its systemd units pass ``systemd-analyze
verify``, that its settings file reads the same in systemd and in ``sh``, and
that Debian's nginx with ``docs/deploy/nginx.conf`` in front of gunicorn started
as ``docs/deploy/resonance.service`` starts it does what the guide says: a beacon
is stored under the address nginx saw (not nginx's own, not a forged
``X-Forwarded-For``), a login over HTTPS gets a ``Secure`` cookie, every HTTPS
answer carries HSTS, plain HTTP redirects to HTTPS, gunicorn tells systemd
when it is ready, and ``/metrics`` scraped through nginx with the token counts
the beacons posted through nginx, also after a reload (the unit's multiprocess
folder). The guide's backup and restore commands run against real databases
too.

The deploy files name production paths (``/opt/resonance``, ``/var/lib/resonance``,
``/etc/resonance.env``, port 8000, the ``resonance`` user). Each test renders them
to this machine's with replacements that must each match, so a deploy file that
no longer contains what a test replaces fails the test instead of testing nothing.

nginx, openssl and systemd-analyze are Debian packages: without them the tests
skip, except when ``CI`` is set (scripts/test.sh installs them), then they fail.
"""

from __future__ import annotations

import grp
import http.client
import importlib.util
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from conftest import BROWSER_UA, POSTGRES_URL, form_csrf_token
from factories import batch, pv
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from resonance.core.models import DailySalt, PageView, Visitor
from tracker import sites
from tracker.identity import forget_salts, visitor_uid

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "install-deploy.md"
DEPLOY = ROOT / "docs" / "deploy"
UNITS = ("resonance.service", "resonance-drain.service")
# What systemd runs without a user session: the default PATH of its services.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# A setting both systemd's EnvironmentFile= and sh's `.` read the same way.
SETTING = re.compile(r"[A-Z][A-Z0-9_]*=[^\s'\"\\$`;&|<>()]*")
SITE_ORIGIN = "https://blog.example.com"
SITE_KEY = "blog"
ADMIN = "admin1"
STARTUP_S = 30.0
ACCEPTED = "resonance_beacons_accepted_total"


def tool(name: str, debian_path: str | None = None) -> str:
    """The path of a Debian tool the guide uses; skip without it, fail in CI."""
    if debian_path and os.access(debian_path, os.X_OK):
        return debian_path
    if found := shutil.which(name):
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {name}: scripts/test.sh installs it with apt-get")
    pytest.skip(f"{name} is not installed")


def render(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each key replaced; every key must occur in it."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the deploy file"
        text = text.replace(old, new)
    return text


def unit_values(unit: str, key: str) -> list[str]:
    """The values of ``key=`` in a unit file, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", unit)
    prefix = key + "="
    return [
        line[len(prefix) :].strip()
        for line in joined.splitlines()
        if line.startswith(prefix)
    ]


def unit_environment(unit: str) -> dict[str, str]:
    """The unit's ``Environment=`` assignments."""
    pairs = [
        p for value in unit_values(unit, "Environment") for p in shlex.split(value)
    ]
    return dict(pair.split("=", 1) for pair in pairs)


def env_file_settings(text: str) -> dict[str, str]:
    """The active ``NAME=value`` lines of the settings file."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            found[name] = value
    return found


def app_layout() -> tuple[str, Path | None]:
    """gunicorn's app and working folder: the package's ``resonance.wsgi:app``
    as the unit names it, else (before the package carried it) the checkout's
    ``wsgi:app`` from the checkout."""
    if importlib.util.find_spec("resonance.wsgi") is not None:
        return "resonance.wsgi:app", None
    return "wsgi:app", ROOT


def packaged() -> bool:
    return app_layout()[1] is None


# --- the guide shows the deploy files ------------------------------------------


def deploy_files() -> list[Path]:
    return sorted(path for path in DEPLOY.iterdir() if path.is_file())


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, content) of every fenced code block."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(markdown)]


@pytest.mark.parametrize("path", deploy_files(), ids=lambda path: path.name)
def test_the_guide_shows_each_deploy_file_verbatim_once(path: Path):
    blocks = [content for _, content in fenced_blocks(GUIDE.read_text())]

    assert blocks.count(path.read_text()) == 1, (
        f"docs/install-deploy.md must show docs/deploy/{path.name} exactly as it is"
    )
    assert f"docs/deploy/{path.name}" in GUIDE.read_text()


def test_every_unit_and_nginx_block_of_the_guide_is_a_deploy_file():
    files = {path.read_text() for path in deploy_files()}
    blocks = fenced_blocks(GUIDE.read_text())

    config_blocks = [content for lang, content in blocks if lang in ("ini", "nginx")]

    assert config_blocks, "the guide shows no unit and no nginx configuration"
    assert [block for block in config_blocks if block not in files] == []


def test_the_settings_file_reads_the_same_in_systemd_and_sh(tmp_path: Path):
    example = DEPLOY / "resonance.env.example"
    for line in example.read_text().splitlines():
        if re.match(r"#[A-Z]", line):  # a setting to uncomment
            assert SETTING.fullmatch(line[1:]), line
        elif line and not line.startswith("#"):
            assert SETTING.fullmatch(line), line
    settings = env_file_settings(example.read_text())

    shell = subprocess.run(
        ["sh", "-c", 'set -a && . "$0" && exec env', str(example)],
        env={"PATH": SYSTEMD_PATH},
        capture_output=True,
        text=True,
        check=True,
    )

    seen = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    assert {name: seen.get(name) for name in settings} == settings
    assert settings["RESONANCE_PROXY_COUNT"] == "1"


# --- the systemd units ----------------------------------------------------------


def render_unit(name: str, env_file: Path) -> str:
    """A deploy unit with this machine's venv, user and settings file."""
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    return render(
        (DEPLOY / name).read_text(),
        {
            "/opt/resonance/venv/bin/": f"{Path(sys.executable).parent}/",
            "User=resonance": f"User={user}",
            "Group=resonance": f"Group={group}",
            "/etc/resonance.env": str(env_file),
        },
    )


def verify(analyze: str, unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", UNITS)
def test_the_systemd_unit_verifies_without_a_complaint(name: str, tmp_path: Path):
    analyze = tool("systemd-analyze")
    env_file = tmp_path / "resonance.env"
    shutil.copy(DEPLOY / "resonance.env.example", env_file)
    unit = tmp_path / name
    unit.write_text(render_unit(name, env_file))

    result = verify(analyze, unit)

    # Warnings (an unknown key, a bad value, a missing binary) go to stderr
    # while the exit status stays 0: any line there is a finding.
    assert (result.returncode, result.stderr) == (0, "")


def test_the_digest_timer_and_its_service_verify_without_a_complaint(tmp_path: Path):
    """resonance-digest.timer starts resonance-digest.service on Mondays at
    07:00; verified together, as systemd loads them (docs/digests.md)."""
    analyze = tool("systemd-analyze")
    env_file = tmp_path / "resonance.env"
    shutil.copy(DEPLOY / "resonance.env.example", env_file)
    service = tmp_path / "resonance-digest.service"
    service.write_text(render_unit(service.name, env_file))
    timer = tmp_path / "resonance-digest.timer"
    shutil.copy(DEPLOY / timer.name, timer)

    result = subprocess.run(
        [analyze, "verify", str(timer), str(service)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert unit_values(timer.read_text(), "OnCalendar") == ["Mon *-*-* 07:00:00"]
    assert unit_values(service.read_text(), "Type") == ["oneshot"]
    assert unit_values((DEPLOY / service.name).read_text(), "ExecStart") == [
        "/opt/resonance/venv/bin/resonance digest send"
    ]
    calendar = subprocess.run(
        [analyze, "calendar", "--iterations=2", "Mon *-*-* 07:00:00"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Mon " in calendar.stdout and "07:00:00" in calendar.stdout


def test_verification_reports_a_mistake_in_a_unit(tmp_path: Path):
    """The check above is only worth something if a typo makes it fail."""
    analyze = tool("systemd-analyze")
    env_file = tmp_path / "resonance.env"
    env_file.touch()
    unit = tmp_path / "resonance.service"
    unit.write_text(
        render_unit("resonance.service", env_file).replace(
            "ProtectSystem=", "ProtectSytem="
        )
    )

    assert "ProtectSytem" in verify(analyze, unit).stderr


def test_the_units_and_the_command_helper_share_their_settings():
    helper = (DEPLOY / "resonance-command.sh").read_text()
    for name in UNITS:
        unit = (DEPLOY / name).read_text()
        data_dir = unit_environment(unit)["RESONANCE_DATA_DIR"]
        (env_file,) = unit_values(unit, "EnvironmentFile")
        assert f"RESONANCE_DATA_DIR={data_dir} " in helper
        assert f". {env_file} " in helper
        assert f"StateDirectory={Path(data_dir).name}" in unit
        assert data_dir.startswith("/var/lib/")
        assert unit_values(unit, "User") == ["resonance"]
    assert "sudo -u resonance " in helper


# --- a machine set up as the guide says -----------------------------------------


@dataclass
class Install:
    """This machine's stand-ins for the guide's paths, and its `resonance`."""

    root: Path
    data: Path
    env_file: Path
    helper: Path
    extra_env: dict[str, str]

    @classmethod
    def make(cls, root: Path, settings: dict[str, str] | None = None) -> Install:
        """The settings file from the example (``settings`` added), the data
        folder as systemd makes it, and the guide's command helper."""
        data = root / "data"
        data.mkdir(mode=0o700)
        env_file = root / "resonance.env"
        text = (DEPLOY / "resonance.env.example").read_text()
        lines = [f"{name}={value}" for name, value in (settings or {}).items()]
        env_file.write_text(text + "".join(line + "\n" for line in lines))
        helper = root / "resonance-command.sh"
        helper.write_text(
            render(
                (DEPLOY / "resonance-command.sh").read_text(),
                {
                    # Tests run as whoever runs them; there is no resonance user.
                    "sudo -u resonance ": "",
                    "/var/lib/resonance": str(data),
                    "/etc/resonance.env": str(env_file),
                    "/opt/resonance/venv/bin/": f"{Path(sys.executable).parent}/",
                },
            )
        )
        extra = {}
        if not packaged():
            # The checkout before the package read RESONANCE_DATA_DIR: keep the
            # test's database and key out of the checkout's instance/.
            extra = {
                "DATABASE_URL": f"sqlite:///{data / 'resonance.db'}",
                "SECRET_KEY": secrets.token_hex(32),
            }
        home = root / "home"
        home.mkdir()
        return cls(root, data, env_file, helper, {"HOME": str(home), **extra})

    def base_env(self) -> dict[str, str]:
        """What a systemd service starts with: no variable of this shell."""
        return {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", **self.extra_env}

    def resonance(self, *args: str, stdin: str | None = None) -> str:
        """``resonance ARGS`` through the guide's helper; its output."""
        result = subprocess.run(
            ["bash", "-c", f'. {shlex.quote(str(self.helper))} && resonance "$@"']
            + ["bash", *args],
            env=self.base_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (
            f"resonance {' '.join(args)}: {result.stdout}{result.stderr}"
        )
        return result.stdout

    def service_env(self, unit: str) -> dict[str, str]:
        """The environment systemd gives the unit's process."""
        settings = env_file_settings(self.env_file.read_text())
        return self.base_env() | unit_environment(unit) | settings

    def database_url(self) -> str:
        """The database the service opens: the settings', else the data folder's."""
        settings = self.extra_env | env_file_settings(self.env_file.read_text())
        default = f"sqlite:///{self.data / 'resonance.db'}"
        return settings.get("DATABASE_URL", default)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group ``process`` leads, wait until all of it is gone
    (SIGKILL what is left after 20 s)."""
    for signum, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                process.wait(timeout=5)
                return
            time.sleep(0.05)
    process.wait(timeout=5)


@contextmanager
def running(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log: Path,
    ready: Callable[[], bool],
) -> Iterator[subprocess.Popen]:
    """Run ``argv`` in a process group of its own until ``ready()``; stop the
    whole group at exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        stop_group(process)


def answers(port: int, path: str, context: ssl.SSLContext | None = None) -> bool:
    """Whether 127.0.0.1:``port`` answers ``GET path`` with 200."""
    connection = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
        if context
        else http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    )
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def notify_socket(path: Path) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's ``NOTIFY_SOCKET``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        yield sock
    finally:
        sock.close()


def runtime_directory(unit: str) -> str:
    """The unit's ``RuntimeDirectory=`` as a path: systemd makes it under /run
    at start and removes it at stop."""
    (name,) = unit_values(unit, "RuntimeDirectory")
    return f"/run/{name}"


def start_gunicorn(
    stack: ExitStack, install: Install, port: int, notify: Path
) -> tuple[subprocess.Popen, str]:
    """gunicorn exactly as the unit's ExecStart, on ``port``, with the unit's
    environment, its runtime directory made empty as systemd makes it, and
    systemd's ``NOTIFY_SOCKET``; the process and the rendered unit."""
    unit = render_unit("resonance.service", install.env_file)
    run_dir = install.root / "run"
    run_dir.mkdir()
    unit = render(
        unit,
        {
            "/var/lib/resonance": str(install.data),
            runtime_directory(unit): str(run_dir),
        },
    )
    run_dir.chmod(int(unit_values(unit, "RuntimeDirectoryMode")[0], 8))
    (exec_start,) = unit_values(unit, "ExecStart")
    argv = shlex.split(render(exec_start, {"127.0.0.1:8000": f"127.0.0.1:{port}"}))
    app, cwd = app_layout()
    argv = [app if arg == "resonance.wsgi:app" else arg for arg in argv]
    env = install.service_env(unit) | {"NOTIFY_SOCKET": str(notify)}
    process = stack.enter_context(
        running(
            argv,
            env=env,
            cwd=cwd or Path("/"),  # systemd's working directory when none is set
            log=install.root / "gunicorn.log",
            ready=lambda: answers(port, "/healthz"),
        )
    )
    return process, unit


def nginx_main_conf(prefix: Path, server_conf: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the guide's file: an http
    block that includes it; everything nginx writes goes under ``prefix``."""
    user = ""
    if os.geteuid() == 0:  # workers would drop to nobody, who cannot enter tmp
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};"
    temp = " ".join(
        f"{kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}\nworker_processes 1;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  {temp}\n  access_log {prefix / 'access.log'};\n"
        f"  include {server_conf};\n}}\n"
    )


def start_nginx(
    stack: ExitStack,
    nginx: str,
    prefix: Path,
    ports: dict[str, int],
    cert: tuple[Path, Path],
    context: ssl.SSLContext,
) -> subprocess.Popen:
    """Debian's nginx with the guide's server block, rendered to free ports and
    the test's certificate; ``nginx -t`` first, as the guide runs it."""
    prefix.mkdir()
    server = render(
        (DEPLOY / "nginx.conf").read_text(),
        {
            "listen 80;": f"listen 127.0.0.1:{ports['http']};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;",
            "/etc/letsencrypt/live/resonance.example.com/fullchain.pem": str(cert[0]),
            "/etc/letsencrypt/live/resonance.example.com/privkey.pem": str(cert[1]),
            "127.0.0.1:8000": f"127.0.0.1:{ports['gunicorn']}",
            "/var/log/nginx/": f"{prefix}/",
        },
    )
    # Loopback only: the test must not listen on this machine's IPv6 addresses.
    server = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", server, flags=re.MULTILINE)
    server_conf = prefix / "resonance.conf"
    server_conf.write_text(server)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_main_conf(prefix, server_conf))
    error_log = prefix / "error.log"
    argv = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(error_log)]
    argv += ["-g", f"daemon off; pid {prefix / 'nginx.pid'};"]
    checked = subprocess.run(
        [*argv, "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr
    return stack.enter_context(
        running(
            argv,
            env={"PATH": SYSTEMD_PATH},
            cwd=prefix,
            log=prefix / "stdout.log",
            ready=lambda: answers(ports["https"], "/healthz", context),
        )
    )


def self_signed_certificate(openssl: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes"]
        + ["-subj", "/CN=localhost", "-days", "1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return cert, key


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes


@dataclass
class Deployment:
    """nginx (HTTP and HTTPS) in front of gunicorn, set up as the guide says."""

    install: Install
    ports: dict[str, int]
    tls: ssl.SSLContext
    admin_password: str
    notified: list[str]
    metrics_token: str
    gunicorn: subprocess.Popen
    unit: str  # resonance.service rendered to this machine's paths

    def https(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.2",
    ) -> Answer:
        """One request over HTTPS through nginx, from the address ``source``
        (any 127.x.y.z is this machine: a second "client" on loopback)."""
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.ports["https"],
            context=self.tls,
            timeout=30,
            source_address=(source, 0),
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    nginx = tool("nginx", "/usr/sbin/nginx")
    openssl = tool("openssl")
    root = tmp_path_factory.mktemp("deploy")
    metrics_token = secrets.token_urlsafe(24)
    install = Install.make(root, {"RESONANCE_METRICS_TOKEN": metrics_token})
    # Section 4 of the guide: schema, first admin, a site.
    install.resonance("migrate")
    password = secrets.token_urlsafe(18)
    admin = ["user", "add", ADMIN, "--role", "admin", "--password-stdin"]
    install.resonance(*admin, stdin=password + "\n")
    site = ["site", "add", "Blog", "--origin", SITE_ORIGIN, "--key", SITE_KEY]
    install.resonance(*site, "--privacy", "anonymous")
    cert = self_signed_certificate(openssl, root)
    context = ssl.create_default_context(cafile=str(cert[0]))
    ports = {"gunicorn": free_port(), "http": free_port(), "https": free_port()}
    with ExitStack() as stack:
        notify = root / "notify"
        sock = stack.enter_context(notify_socket(notify))
        gunicorn, unit = start_gunicorn(stack, install, ports["gunicorn"], notify)
        sock.settimeout(5)
        notified = [sock.recv(4096).decode()]
        start_nginx(stack, nginx, root / "nginx", ports, cert, context)
        yield Deployment(
            install, ports, context, password, notified, metrics_token, gunicorn, unit
        )


def post_beacon(deployment: Deployment, source: str, **headers: str) -> str:
    """POST one page view through nginx from ``source``; its event id."""
    view = pv(url=f"{SITE_ORIGIN}/post")
    answer = deployment.https(
        "POST",
        "/e",
        body=json.dumps(batch(view, s=SITE_KEY)).encode(),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": SITE_ORIGIN,
            "User-Agent": BROWSER_UA,
            **headers,
        },
        source=source,
    )
    assert answer.status == 204, answer.body
    return view["id"]


def stored_uid(session: Session, event_id: str) -> str | None:
    session.expire_all()
    return session.scalar(
        select(Visitor.uid)
        .join(PageView, PageView.visitor_id == Visitor.id)
        .where(PageView.event_id == event_id)
    )


def expected_uid(session: Session, address: str) -> str:
    """The anonymous visitor the collector makes of ``address`` today (computed
    by the collector's own function, then rolled back)."""
    sites.forget()
    forget_salts()
    site = sites.lookup(session, SITE_KEY)
    day = session.scalar(select(DailySalt.day))
    try:
        return visitor_uid(
            session,
            site,
            None,
            ip=address,
            user_agent=BROWSER_UA,
            privacy_signal=False,
            now=datetime.combine(day, day_time(12), UTC),
        )
    finally:
        session.rollback()
        forget_salts()


def test_a_beacon_through_nginx_is_stored_under_the_address_nginx_saw(
    deployment: Deployment,
):
    first = post_beacon(deployment, "127.0.0.2")
    # Another browser claiming to be the first: the X-Forwarded-For it sends
    # is not the hop nginx adds, so it is not believed.
    second = post_beacon(deployment, "127.0.0.3", **{"X-Forwarded-For": "127.0.0.2"})

    engine = create_engine(deployment.install.database_url())
    try:
        with Session(engine) as session:
            deadline = time.monotonic() + 10
            while None in (stored_uid(session, first), stored_uid(session, second)):
                assert time.monotonic() < deadline, "the beacons were not stored"
                time.sleep(0.1)
            uids = stored_uid(session, first), stored_uid(session, second)
            # Behind nginx without ProxyFix both would be 127.0.0.1's visitor.
            assert uids == (
                expected_uid(session, "127.0.0.2"),
                expected_uid(session, "127.0.0.3"),
            )
    finally:
        engine.dispose()


def session_cookie(answer: Answer):
    cookies = SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    return cookies.get("session")


def test_a_login_over_https_gets_a_secure_cookie_that_opens_the_dashboard(
    deployment: Deployment,
):
    form = deployment.https("GET", "/login")
    assert form.status == 200
    first = session_cookie(form)  # the CSRF token lives in the session
    base = f"https://127.0.0.1:{deployment.ports['https']}"

    answer = deployment.https(
        "POST",
        "/login",
        body=urllib.parse.urlencode(
            {
                "username": ADMIN,
                "password": deployment.admin_password,
                "csrf_token": form_csrf_token(form.body.decode()),
                "next": "/dash/",
            }
        ).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"session={first.value}",
            "Referer": f"{base}/login",  # Flask-WTF checks it over HTTPS
        },
    )

    assert answer.status == 303, answer.body[:2000]
    assert answer.headers["Location"] == "/dash/"
    cookie = session_cookie(answer)
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    dashboard = deployment.https(
        "GET", "/dash/", headers={"Cookie": f"session={cookie.value}"}
    )
    assert dashboard.status == 200
    assert ADMIN in dashboard.body.decode()


def stylesheet(login_page: bytes) -> str:
    found = re.search(
        r'<link rel="stylesheet" href="(/static/[^"?]+)', login_page.decode()
    )
    assert found, "the login page links no stylesheet under /static/"
    return found.group(1)


def test_https_answers_carry_hsts_whatever_their_status(deployment: Deployment):
    login = deployment.https("GET", "/login")
    answers_ = {
        "page": login,
        "json": deployment.https("GET", "/healthz"),
        "static": deployment.https("GET", stylesheet(login.body)),
        "missing": deployment.https("GET", "/no-such-page"),
        "refused": deployment.https("POST", "/e", body=b"{", headers={}),
    }

    assert {name: a.status for name, a in answers_.items()} == {
        "page": 200,
        "json": 200,
        "static": 200,
        "missing": 404,
        "refused": 400,
    }
    assert {
        name: a.headers["Strict-Transport-Security"] for name, a in answers_.items()
    } == dict.fromkeys(answers_, "max-age=31536000")
    assert answers_["static"].headers["Cache-Control"] == "max-age=3600"


def test_plain_http_redirects_to_the_same_address_over_https(deployment: Deployment):
    connection = http.client.HTTPConnection(
        "127.0.0.1", deployment.ports["http"], timeout=10
    )
    try:
        connection.request("GET", "/dash/sites/?q=x")
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()

    assert answer.status == 301
    # nginx answers for port 80 in production: the redirect names no port.
    assert answer.getheader("Location") == "https://127.0.0.1/dash/sites/?q=x"
    assert answer.getheader("Strict-Transport-Security") is None


def test_gunicorn_tells_systemd_it_is_ready(deployment: Deployment):
    assert deployment.notified[0].splitlines()[0] == "READY=1"


def test_the_data_lives_in_the_folder_the_unit_names(deployment: Deployment):
    if not packaged():
        pytest.skip("this checkout does not read RESONANCE_DATA_DIR yet")
    names = {path.name for path in deployment.install.data.iterdir()}

    assert {"resonance.db", "secret_key"} <= names


# --- /metrics through the deployment ---------------------------------------------


def test_the_metrics_folder_is_the_services_own_runtime_directory():
    """systemd makes the folder empty at each start (prometheus-client sums
    every file in it), for this unit alone: neither the drain unit nor the
    settings file, which the commands run by hand read, names it."""
    unit = (DEPLOY / "resonance.service").read_text()
    (exec_start,) = unit_values(unit, "ExecStart")
    drain = (DEPLOY / "resonance-drain.service").read_text()
    settings = (DEPLOY / "resonance.env.example").read_text()

    folder = unit_environment(unit)["PROMETHEUS_MULTIPROC_DIR"]
    assert folder == runtime_directory(unit)
    assert unit_values(unit, "RuntimeDirectoryPreserve") in ([], ["no"])
    argv = shlex.split(exec_start)
    assert argv[argv.index("--config") + 1] == "python:resonance.cli.gunicorn_conf"
    assert "PROMETHEUS_MULTIPROC_DIR" not in unit_environment(drain)
    assert "PROMETHEUS_MULTIPROC_DIR" not in settings


def scrape(deployment: Deployment, token: str | None) -> Answer:
    """``GET /metrics`` over HTTPS through nginx, with ``token`` if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return deployment.https("GET", "/metrics", headers=headers)


def accepted(deployment: Deployment) -> float:
    """The beacons the service has answered 204, as a scrape with the token
    reads them."""
    answer = scrape(deployment, deployment.metrics_token)
    assert answer.status == 200, answer.body[:2000]
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.body.decode())
        for sample in family.samples
        if not sample.labels
    }
    return samples[ACCEPTED]


def test_a_scrape_through_nginx_with_the_token_counts_a_beacon_posted_through_it(
    deployment: Deployment,
):
    before = accepted(deployment)

    post_beacon(deployment, "127.0.0.4")

    assert accepted(deployment) == before + 1
    samples = list(deployment.install.root.joinpath("run").glob("counter_*.db"))
    assert samples, "gunicorn's workers wrote no samples to the unit's folder"


def test_a_scrape_through_nginx_without_the_token_is_refused(deployment: Deployment):
    assert scrape(deployment, None).status == 401
    assert scrape(deployment, "not-" + deployment.metrics_token).status == 401


def worker_pids(master: subprocess.Popen) -> set[int]:
    out = subprocess.run(
        ["ps", "--ppid", str(master.pid), "-o", "pid="],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {int(pid) for pid in out.split()}


def test_beacons_still_count_after_a_reload_replaced_the_workers(
    deployment: Deployment,
):
    """``systemctl reload`` (the unit's ExecReload) replaces every worker: the
    counts of the workers that exited stay in the unit's folder and still count."""
    post_beacon(deployment, "127.0.0.5")
    before, old_workers = accepted(deployment), worker_pids(deployment.gunicorn)
    (reload,) = unit_values(deployment.unit, "ExecReload")

    argv = shlex.split(render(reload, {"$MAINPID": str(deployment.gunicorn.pid)}))
    subprocess.run(argv, check=True, timeout=30)
    deadline = time.monotonic() + STARTUP_S
    while (workers := worker_pids(deployment.gunicorn)) & old_workers or not workers:
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.1)

    assert accepted(deployment) == before
    post_beacon(deployment, "127.0.0.6")
    assert accepted(deployment) == before + 1


# --- backup and restore, as section 8 of the guide runs them --------------------


def user_names(install: Install) -> list[str]:
    return [
        line.split("\t")[0]
        for line in install.resonance("user", "list").split("\n")
        if line
    ]


def add_user(install: Install, name: str) -> None:
    command = ["user", "add", name, "--role", "sales", "--password-stdin"]
    install.resonance(*command, stdin="a long enough password\n")


def test_a_sqlite_backup_restored_over_the_database_brings_it_back(tmp_path: Path):
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        pytest.skip("the sqlite3 command is not installed (apt-get install sqlite3)")
    install = Install.make(tmp_path)
    install.resonance("migrate")
    add_user(install, "before")
    database = Path(make_url(install.database_url()).database)
    backup = tmp_path / "backup.db"
    subprocess.run([sqlite3, str(database), f".backup {backup}"], check=True)
    add_user(install, "after")

    # Restore, the service stopped: the copy in, the old journal files out.
    shutil.copy(backup, database)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    install.resonance("migrate")

    assert user_names(install) == ["before"]


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A database of its own (pg_restore --clean drops every table in it)."""
    server = make_url(POSTGRES_URL)
    name = f"rs_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_pg_dump_restored_with_clean_brings_the_database_back(
    postgres_database: str, tmp_path: Path
):
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    libpq = make_url(postgres_database).set(drivername="postgresql")
    libpq_url = libpq.render_as_string(hide_password=False)
    install = Install.make(tmp_path, {"DATABASE_URL": libpq_url})
    install.resonance("migrate")
    add_user(install, "before")
    dump = tmp_path / "resonance.dump"
    subprocess.run([pg_dump, "-Fc", "-f", str(dump), libpq_url], check=True)
    add_user(install, "after")

    subprocess.run(
        [pg_restore, "--clean", "--if-exists", "-d", libpq_url, str(dump)],
        check=True,
        capture_output=True,
    )
    install.resonance("migrate")

    assert user_names(install) == ["before"]
