"""What the gunicorn workers under test cost: their memory and CPU time, read
from ``/proc``.

Read from the kernel rather than from the servers themselves, so that the real
app and the bare app are measured the same way and neither pays for it.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path


def proc_stat(stat: Path) -> list[str] | None:
    """The fields of a ``/proc/<pid>/stat`` after the command name (field 3 of
    proc(5) first), or None once the process is gone."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def workers_of(server: subprocess.Popen) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = proc_stat(stat)
        if fields and int(fields[1]) == server.pid:
            pids.append(int(stat.parent.name))
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


class RssSampler(threading.Thread):
    """The largest RSS of any gunicorn worker, sampled while wrk runs."""

    def __init__(self, servers: list[subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.servers = servers
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for server in self.servers:
                for pid in workers_of(server):
                    self.peak = max(self.peak, rss_mb(pid))


def cpu_seconds(servers: list[subprocess.Popen]) -> float:
    """User + system CPU time so far of every gunicorn worker of ``servers``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for server in servers:
        for pid in workers_of(server):
            if fields := proc_stat(Path(f"/proc/{pid}/stat")):
                utime, stime = fields[11:13]
                total += (int(utime) + int(stime)) / ticks
    return total
