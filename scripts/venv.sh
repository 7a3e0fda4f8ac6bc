#!/usr/bin/env bash
# Make (or bring up to date) the virtual environment the README's commands use:
# every package at the version requirements.lock pins, checked against its hash,
# then Resonance itself, editable. Nothing is taken from the machine's own Python.
# Usage: scripts/venv.sh [DIR]   (default .venv; RESONANCE_FRESH_VENV=1 starts over)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
if [ "${RESONANCE_FRESH_VENV:-0}" = 1 ]; then rm -rf "$venv"; fi
stamp="$venv/.resonance-lock.sha256"
want="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "== installing the locked dependencies into $venv"
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --require-hashes --no-deps -r requirements.lock
"${pip[@]}" install --no-deps -e .
"${pip[@]}" check
echo "$want" >"$stamp"
