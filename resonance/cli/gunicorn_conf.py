"""gunicorn's settings for Resonance: ``gunicorn --config
python:resonance.cli.gunicorn_conf resonance.wsgi:app`` (``resonance serve`` passes
it). Command-line options still override what is set here.

Owns: what gunicorn only takes from a configuration module. With
``PROMETHEUS_MULTIPROC_DIR`` set, a worker that exits is marked dead for
``/metrics`` (``resonance.core.metrics``); with ``RESONANCE_LOG_FORMAT=json`` every
log line is JSON (``resonance.cli.logs``); the access log never names the
client's address.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import multiprocess

from resonance.cli.logs import gunicorn_config, wanted
from resonance.core.metrics import MULTIPROC_ENV

# gunicorn's default access log starts with the client's IP address: Resonance
# never stores one, so its log leaves it out (time, request line, status, bytes,
# seconds), whether run by ``resonance serve`` or by the systemd unit.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(L)s'

if wanted() == "json":
    logconfig_dict = gunicorn_config()
    logging.captureWarnings(True)  # the workers inherit it


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges no longer count (its counters still do)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)
