#!/usr/bin/env bash
# Refresh requirements.lock: every runtime and test dependency pinned, with hashes,
# resolved from pyproject.toml for Python 3.11 on Linux. Both README commands
# install from it. Run after changing a dependency in pyproject.toml, commit both.
# Extra arguments go to `uv pip compile` (e.g. --upgrade-package flask).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${TMPDIR:-/tmp}/resonance-lock-tools"
[ -x "$tools/bin/uv" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q uv; }
"$tools/bin/uv" pip compile pyproject.toml --extra test --generate-hashes \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header \
  --quiet -o requirements.lock "$@"
echo "requirements.lock: $(grep -c '^[a-z]' requirements.lock) packages pinned"
