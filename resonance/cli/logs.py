"""Structured logs: one JSON object per line, for ``resonance serve --log-format
json`` (or ``RESONANCE_LOG_FORMAT=json``).

Owns: the JSON formatter, the logging configuration gunicorn takes for its
error log, its access log and the app's own loggers (``gunicorn_config``, used
by ``resonance.cli.gunicorn_conf``), and turning what a command prints into log
records (``log_output_as_json``), so that the serving process and its drain
process print JSON too. Log shippers then read fields instead of parsing text.

Every record has ``timestamp`` (ISO 8601, UTC), ``level``, ``logger`` and
``message``; an access line adds ``method``, ``path``, ``query``, ``status``,
``duration`` (seconds) and ``bytes``. Never the client's address: Resonance
stores none, and its text access log leaves it out too (``resonance.cli``).
The standard library does it all: no dependency for a formatter.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TextIO

ENV = "RESONANCE_LOG_FORMAT"
FORMATS = ("text", "json")
ACCESS_LOGGER = "gunicorn.access"
# gunicorn's access atoms (gunicorn.glogging.Logger.atoms) behind each field.
_ACCESS_FIELDS = (("method", "m"), ("path", "U"), ("query", "q"))


def wanted(environ: Mapping[str, str] = os.environ) -> str:
    """The log format the environment asks for: ``text`` unless it says json."""
    value = environ.get(ENV, "").strip().lower()
    return value if value in FORMATS else "text"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (fields in the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, Mapping):
            entry.update(access_fields(record.args))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _iso_utc(created: float) -> str:
    """``2026-12-06T20:12:47.917Z``: ISO 8601 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.removesuffix("+00:00") + "Z"


def access_fields(atoms: Mapping) -> dict[str, object]:
    """The fields of an access line from gunicorn's atoms; never ``h``, the
    client's address."""
    fields: dict[str, object] = {name: atoms[atom] for name, atom in _ACCESS_FIELDS}
    fields["status"] = _number(atoms["s"])
    fields["duration"] = int(atoms["D"]) / 1_000_000  # microseconds
    fields["bytes"] = atoms["B"] if isinstance(atoms["B"], int) else None
    return fields


def _number(value: object) -> object:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def gunicorn_config() -> dict:
    """``logconfig_dict`` for gunicorn: its error log and the app's loggers
    (the root) as JSON on stderr, its access log as JSON on stdout, as the
    text logs go."""
    formatter = {"()": f"{__name__}.JsonFormatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter},
        "handlers": {
            "stderr": _stream_handler("ext://sys.stderr"),
            "stdout": _stream_handler("ext://sys.stdout"),
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"]},
            ACCESS_LOGGER: {"level": "INFO", "handlers": ["stdout"]},
        },
    }


def _stream_handler(stream: str) -> dict:
    return {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}


class LinesToLog(io.TextIOBase):
    """A text stream that logs each line written to it: what a command prints
    with ``click.echo`` or ``print`` becomes a log record."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        super().__init__()
        self._logger = logger
        self._level = level
        self._partial = ""
        self._lock = threading.Lock()
        self._inside = threading.local()  # a handler's own error report lands here

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if getattr(self._inside, "logging", False):
            sys.__stderr__.write(text)  # not logged again: that would recurse
            return len(text)
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
        self._inside.logging = True
        try:
            for line in lines:
                if line := line.strip():
                    self._logger.log(self._level, line)
        finally:
            self._inside.logging = False
        return len(text)


def log_output_as_json(logger_name: str, stream: TextIO | None = None) -> None:
    """Log as JSON from here on: the root logger (and warnings) in JSON on
    ``stream`` (stderr), and this process's stdout and stderr turned into
    records of ``logger_name`` (INFO and WARNING). Child processes keep the real
    streams: they print JSON of their own."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logger = logging.getLogger(logger_name)
    sys.stdout = LinesToLog(logger, logging.INFO)
    sys.stderr = LinesToLog(logger, logging.WARNING)


def from_environment(logger_name: str) -> None:
    """:func:`log_output_as_json` when ``RESONANCE_LOG_FORMAT`` is json: for the
    drain process that ``resonance serve`` starts."""
    if wanted() == "json":
        log_output_as_json(logger_name)
