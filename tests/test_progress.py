"""Progress of long commands: a redrawn bar with counts and ETA on a terminal,
plain lines (no control characters) in pipes and logs."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from resonance.cli.progress import Progress

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """A hand-moved clock: ETAs without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_output_has_a_line_per_tenth_and_per_note_without_control_codes():
    out, clock = io.StringIO(), Clock()

    with Progress("crawl", 20, unit="pages", stream=out, clock=clock) as bar:
        for n in range(20):
            clock.now += 3
            bar.advance(note="https://x.example/ skipped: HTTP 404" if n == 4 else None)

    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
    assert lines[0] == "crawl: 2/20 pages 10%, 0:06 elapsed, 0:54 left"
    assert "[5/20] https://x.example/ skipped: HTTP 404" in lines
    assert lines[-1] == "crawl: 20/20 pages 100%, 1:00 elapsed"
    assert len(lines) == 11  # ten tenths and the note


def test_a_terminal_gets_one_redrawn_bar_with_eta_and_notes_above_it():
    out, clock = io.StringIO(), Clock()

    bar = Progress("import-leads", 4, unit="rows", stream=out, tty=True, clock=clock)
    clock.now += 10
    bar.advance()
    clock.now += 10
    bar.advance(note="line 3: bad e-mail")
    clock.now += 20
    bar.update(4)
    bar.close()

    text = out.getvalue()
    assert "\r\x1b[Kimport-leads [######------------------] 1/4 rows 25% 0:30 left" in (
        text
    )
    assert "\r\x1b[Kline 3: bad e-mail\n" in text
    assert text.endswith("\r\x1b[Kimport-leads: 4/4 rows 100%, 0:40 elapsed\n")
    assert text.count("\n") == 2  # the note and the final line; the bar redraws


def test_a_terminal_bar_is_redrawn_at_most_ten_times_a_second():
    out, clock = io.StringIO(), Clock()

    bar = Progress("demo traffic", 10_000, stream=out, tty=True, clock=clock)
    for _ in range(9_999):
        clock.now += 0.0001  # one second in all
        bar.advance()
    bar.advance()

    assert 10 <= out.getvalue().count("\r") <= 13


def test_reporter_takes_the_callback_shape_of_the_library_code():
    out = io.StringIO()
    bar = Progress("crawl", 0, stream=out)
    report = bar.reporter()

    report(1, 2, "a 10 words, 1 section", started=0.0)
    report(2, 2)
    bar.close()

    assert out.getvalue().splitlines()[0] == "[1/2] a 10 words, 1 section"
    assert bar.total == 2 and bar.done == 2


def test_import_leads_draws_a_bar_on_a_real_terminal(tmp_path):
    """Through a pseudo-terminal: the command itself decides it is on a TTY."""
    db_url = f"sqlite:///{tmp_path / 'r.db'}"
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "email,lifecyclestage\n"
        + "".join(f"lead{n}@example.com,lead\n" for n in range(30))
    )
    env = os.environ | {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", "from resonance.cli import cli; cli()"]
    subprocess.run(run + ["migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        run + ["site", "add", "Blog", "--key", "blog"],
        env=env,
        check=True,
        capture_output=True,
    )
    leader, follower = pty.openpty()
    process = subprocess.run(
        run + ["import-leads", str(csv_path), "--site", "blog"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=60,
    )
    os.close(follower)
    terminal = _read_all(leader)

    assert process.returncode == 0
    assert process.stdout.decode().startswith("30 imported")
    assert "\x1b[K" in terminal and "[####" in terminal
    assert "import-leads: 30/30 rows 100%" in terminal


def test_import_leads_writes_plain_lines_to_a_pipe(runner, session, site, tmp_path):
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("email\n" + "".join(f"l{n}@example.com\n" for n in range(5)))

    from resonance.cli import cli

    result = runner.invoke(cli, ["import-leads", str(csv_path), "--site", "blog"])

    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("import-leads: 5/5 rows 100%")


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")
