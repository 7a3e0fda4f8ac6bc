"""Progress of long-running commands: a bar with counts and ETA on a terminal,
plain lines in logs.

Owns: how ``crawl``, ``snapshot``, ``import-leads``, ``demo`` (and the benchmark
generator) report their progress. No dependency: a redrawn line on a TTY is a
few lines of code, and tqdm or rich would add a package (and, for rich, a
rendering engine) for this one line.

On a TTY: ``label [#####-----] 12/40 30% 0:04 left  note``, redrawn in place at
most every ``REDRAW_S`` seconds, and notes (e.g. a failed page) printed above
it. Elsewhere (a pipe, a file, a CI log): a line at every tenth of the work and
for every note, never a control character.

    with Progress("crawl", total=len(pages)) as bar:
        for page in pages:
            ...
            bar.advance(note=f"{page} skipped")  # note is optional
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
REDRAW_S = 0.1


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts ``done`` of ``total`` items and shows it (see the module doc)."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.done = 0
        self._drawn_at = -REDRAW_S
        self._step = 0  # tenths announced so far (plain mode)
        self._open = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- counting -------------------------------------------------------------------

    def advance(self, count: int = 1, note: str | None = None) -> None:
        """``count`` more items are done; ``note`` says something about them."""
        self.update(self.done + count, note)

    def update(self, done: int, note: str | None = None, total: int | None = None):
        """``done`` items are done (of ``total``, when it changed)."""
        if total is not None:
            self.total = total
        self.done = min(done, self.total) if self.total else done
        if self.tty:
            self._draw_tty(note)
        else:
            self._draw_plain(note)

    def close(self) -> None:
        """End the bar's line (TTY) or print the last count (plain)."""
        if self.tty and self._open:
            self._write(f"\r\x1b[K{self.line()}\n")
            self._open = False
        elif not self.tty and self._step < 10:
            self._write(self.line() + "\n")
            self._step = 10

    # --- rendering ------------------------------------------------------------------

    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def eta(self) -> float | None:
        """Seconds left at the pace so far; None before the first item."""
        if not self.done or self.done >= self.total:
            return None
        elapsed = self.clock() - self.started
        return elapsed / self.done * (self.total - self.done)

    def counts(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.done}/{self.total}{unit} {self.fraction():.0%}"

    def line(self) -> str:
        """The plain text of the current state (no bar)."""
        elapsed = _clock(self.clock() - self.started)
        if (left := self.eta()) is not None:
            left_text = f", {_clock(left)} left"
        else:
            left_text = ""
        return f"{self.label}: {self.counts()}, {elapsed} elapsed{left_text}"

    def bar(self) -> str:
        filled = round(BAR_WIDTH * self.fraction())
        left = self.eta()
        eta = f" {_clock(left)} left" if left is not None else ""
        return (
            f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] "
            f"{self.counts()}{eta}"
        )

    def _draw_tty(self, note: str | None) -> None:
        now = self.clock()
        if note:
            self._write(f"\r\x1b[K{note}\n")
        elif now - self._drawn_at < REDRAW_S and self.done < self.total:
            return
        self._drawn_at = now
        self._write(f"\r\x1b[K{self.bar()}")
        self._open = True

    def _draw_plain(self, note: str | None) -> None:
        if note:
            self._write(f"[{self.done}/{self.total}] {note}\n")
        step = int(self.fraction() * 10)
        if step > self._step:
            self._step = step
            self._write(self.line() + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    # --- adapters -------------------------------------------------------------------

    def reporter(self) -> Callable[..., None]:
        """A ``report(done, total, note=None, **_)`` callback for library code
        that reports counts (the crawl, the demo seeding, the CSV import)."""

        def report(done: int, total: int, note: str | None = None, **_ignored) -> None:
            self.update(done, note, total=total)

        return report
