"""Driving ``POST /e`` with wrk and reading its figures.

wrk runs ``bench/ingest.lua``, which sends snippet-shaped batches and prints its
own ``RESULT`` line (wrk's summary rounds latencies and hides error kinds); the
parsing lives here beside the command so that the two change together.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "ingest.lua"


@dataclass(frozen=True)
class Run:
    """One wrk run's figures."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def ok(self) -> int:
        return self.requests - self.errors


def wrk(port: int, seconds: float, args: argparse.Namespace) -> Run:
    """Drive ``POST /e`` with the snippet-shaped batches of ingest.lua."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(args.wrk_threads),
            "-c",
            str(args.connections),
            "-d",
            f"{int(seconds)}s",
            "--latency",
            "-s",
            str(SCRIPT),
            f"http://127.0.0.1:{port}/e",
            "--",
            uuid.uuid4().hex[:8],  # a nonce per run: ids never repeat across runs
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse(out)


def parse(out: str) -> Run:
    """The figures of ingest.lua's ``RESULT`` line (``name=integer`` pairs; every
    ``errors_*`` kind counts as an error)."""
    fields = dict(re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1]))
    errors = sum(int(fields[k]) for k in fields if k.startswith("errors_"))
    return Run(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        errors=errors,
        p50_ms=int(fields["p50_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
    )


def combined(runs: list[Run]) -> Run:
    """The runs of instances driven at once as one: requests and errors add up,
    the slowest instance gives the duration and the latencies."""
    return Run(
        requests=sum(r.requests for r in runs),
        seconds=max(r.seconds for r in runs),
        errors=sum(r.errors for r in runs),
        p50_ms=max(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
    )
