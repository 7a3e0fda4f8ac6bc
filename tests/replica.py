"""A real streaming replica of the local PostgreSQL cluster, made the way an
operator makes one, for the tests (and the lag benchmark) of the dashboards'
read replica.

:func:`streaming_replica` copies the running cluster with ``pg_basebackup -R -X
stream`` into a temporary folder, starts it on a free port as a hot standby,
waits until it streams from the primary, and stops and removes it at the end.
The server runs as the ``postgres`` OS user when we are root (PostgreSQL refuses
to run as root).

Replication connections need their own ``pg_hba.conf`` line (``all`` does not
cover them), and ``hba_file`` can only be changed by a restart, so when the
cluster lacks one, :func:`allow_replication` appends a trust line for
``127.0.0.1`` to the file the server names and reloads it, once: the same trust
the file already gives every other local connection.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servers import free_port
from sqlalchemy import Connection, Engine, create_engine, make_url, text

HOST = "127.0.0.1"
HBA_LINE = f"host replication all {HOST}/32 trust  # resonance tests: read replica"
# A standby refuses to start with less of these than its primary has.
MATCHED = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
START_S = 60  # bounds every wait here: a replica that is not up by then is broken


class ReplicaError(RuntimeError):
    """The replica could not be made; the message says which step and why."""


@dataclass(frozen=True)
class Replica:
    """A running standby: its port, and an admin URL on it."""

    port: int
    data_dir: Path
    admin_url: str

    def url_of(self, primary_url: str) -> str:
        """``primary_url`` (database, user, schema options) on the replica."""
        url = make_url(primary_url).set(port=self.port)
        return url.render_as_string(hide_password=False)


def allow_replication(admin: Connection) -> bool:
    """Make sure replication connections from 127.0.0.1 are let in; True when
    the line had to be added (and the configuration reloaded)."""
    rules = admin.scalar(
        text(
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NULL"
            " AND 'replication' = ANY(database) AND type LIKE 'host%'"
            " AND address = :host AND auth_method = 'trust'"
        ),
        {"host": HOST},
    )
    if rules:
        return False
    hba = Path(admin.scalar(text("SHOW hba_file")))
    try:
        with hba.open("a") as file:
            file.write(f"\n{HBA_LINE}\n")
    except OSError as exc:
        raise ReplicaError(
            f"{hba} has no replication line for {HOST} and cannot be edited"
            f" ({exc}); add: {HBA_LINE}"
        ) from exc
    admin.execute(text("SELECT pg_reload_conf()"))
    return True


@contextmanager
def streaming_replica(primary_url: str) -> Iterator[Replica]:
    """A hot standby of the cluster at ``primary_url`` (an admin's URL), streaming
    from it until the block ends; raises :class:`ReplicaError` if it cannot be
    made."""
    primary = create_engine(primary_url, isolation_level="AUTOCOMMIT")
    try:
        with primary.connect() as admin:
            allow_replication(admin)
            major = admin.scalar(text("SHOW server_version_num"))[:-4]
            settings = {name: admin.scalar(text(f"SHOW {name}")) for name in MATCHED}
    finally:
        primary.dispose()
    bin_dir = Path(f"/usr/lib/postgresql/{major}/bin")
    data_dir = Path(tempfile.mkdtemp(prefix="resonance-replica-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    data_dir.chmod(0o700)
    port = free_port()
    url = make_url(primary_url)
    try:
        _base_backup(bin_dir, url.username or "postgres", url.port or 5432, data_dir)
        _configure(data_dir, port, settings)
        _run(
            [
                str(bin_dir / "pg_ctl"),
                *("-D", str(data_dir), "-l", str(data_dir / "replica.log")),
                *("-o", f"-p {port} -h {HOST} -k {data_dir}"),
                *("-w", "-t", str(START_S), "start"),
            ],
            "starting the replica",
        )
        replica = Replica(
            port, data_dir, url.set(port=port).render_as_string(hide_password=False)
        )
        wait_streaming(replica)
        yield replica
    finally:
        if (data_dir / "postmaster.pid").exists():
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w"]
            subprocess.run(
                _as_server_user([*stop, "stop"]), capture_output=True, check=False
            )
        shutil.rmtree(data_dir, ignore_errors=True)


def _base_backup(bin_dir: Path, user: str, port: int, data_dir: Path) -> None:
    """``pg_basebackup -R -X stream``, retried while a reload that just let
    replication in has not reached the server yet."""
    command = [
        str(bin_dir / "pg_basebackup"),
        *("-h", HOST, "-p", str(port), "-U", user, "-D", str(data_dir)),
        *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
    ]
    deadline = time.monotonic() + 10
    while True:
        done = subprocess.run(
            _as_server_user(command), capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return
        refused = "no pg_hba.conf entry" in done.stderr
        if not refused or time.monotonic() > deadline:
            raise ReplicaError(f"pg_basebackup failed: {done.stderr.strip()}")
        time.sleep(0.2)


def _configure(data_dir: Path, port: int, settings: dict[str, str]) -> None:
    """Settings of its own for the copy: Debian keeps a cluster's
    ``postgresql.conf`` and ``pg_hba.conf`` in /etc, so the copy has none (or the
    primary's, which these lines override)."""
    lines = [
        f"port = {port}",
        f"listen_addresses = '{HOST}'",
        f"unix_socket_directories = '{data_dir}'",
        "hot_standby = on",
        # Long dashboard reads are not cancelled by the primary's vacuum.
        "hot_standby_feedback = on",
        "shared_buffers = 32MB",
        "fsync = off",
        *(f"{name} = {value}" for name, value in settings.items()),
    ]
    conf = data_dir / "postgresql.conf"
    with conf.open("a") as file:
        file.write("\n# resonance tests: a read replica\n" + "\n".join(lines) + "\n")
    hba = data_dir / "pg_hba.conf"
    if not hba.exists():
        hba.write_text(f"local all all trust\nhost all all {HOST}/32 trust\n")
    if os.geteuid() == 0:
        for path in (conf, hba):
            shutil.chown(path, "postgres", "postgres")


def wait_streaming(replica: Replica) -> None:
    """Wait until the replica answers, is in recovery and streams from the
    primary (its WAL receiver says ``streaming``)."""
    engine = create_engine(replica.admin_url)
    deadline = time.monotonic() + START_S
    state: object = "no answer"
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    state = connection.execute(
                        text(
                            "SELECT pg_is_in_recovery(),"
                            " (SELECT status FROM pg_stat_wal_receiver)"
                        )
                    ).one()
            except Exception as exc:  # noqa: BLE001 - starting up: try again
                state = exc
            else:
                if tuple(state) == (True, "streaming"):
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    log = (replica.data_dir / "replica.log").read_text(errors="replace")[-2000:]
    raise ReplicaError(f"the replica does not stream: {state}\n{log}")


def caught_up(primary: Engine, replica: Engine, timeout: float = START_S) -> bool:
    """Wait until the replica has replayed everything committed on the primary
    so far; False if it has not within ``timeout`` seconds."""
    with primary.connect() as connection:
        lsn = connection.scalar(text("SELECT pg_current_wal_lsn()"))
    deadline = time.monotonic() + timeout
    query = text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")
    while time.monotonic() < deadline:
        with replica.connect() as connection:
            if connection.scalar(query, {"lsn": lsn}):
                return True
        time.sleep(0.01)
    return False


@contextmanager
def replay_paused(replica: Replica) -> Iterator[None]:
    """Hold the replica's replay: it keeps receiving WAL but shows nothing
    newer until the block ends, as a replica lagging by that long would."""
    engine = create_engine(replica.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_pause()"))
            deadline = time.monotonic() + START_S
            state = text("SELECT pg_get_wal_replay_pause_state()")
            while connection.scalar(state) != "paused":
                if time.monotonic() > deadline:
                    raise ReplicaError("the replica's replay did not pause")
                time.sleep(0.01)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_wal_replay_resume()"))
    finally:
        engine.dispose()


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` as the ``postgres`` OS user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], step: str) -> None:
    done = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ReplicaError(f"{step} failed: {(done.stderr or done.stdout).strip()}")
