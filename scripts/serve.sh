#!/usr/bin/env bash
# Run Resonance on this machine: the locked packages in .venv (made on first use),
# then `resonance serve` (SQLite under RESONANCE_DATA_DIR, the demo site and demo
# data on an empty database, gunicorn on http://127.0.0.1:8000). Extra arguments go
# to `resonance serve` (see `.venv/bin/resonance serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh .venv
exec .venv/bin/resonance serve "$@"
