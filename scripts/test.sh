#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what it needs (Debian's
# Chromium, wrk and nginx; the locked packages in .venv), starts the local PostgreSQL
# and Redis if they are installed but stopped, lints, checks the import
# contracts, then runs pytest. Extra arguments go to pytest. RESONANCE_FRESH_VENV=1 (as .ci/run
# sets) builds .venv anew, so nothing left on the machine can hide a missing package.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the tests drive: chromium (browser tests, through Playwright),
# wrk (the ingest benchmark's smoke run), nginx, systemd-analyze, sqlite3 and
# openssl (the deploy guide, followed as written: TLS, backup and restore).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian's ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

./scripts/venv.sh .venv
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q; then
  echo "== starting the local PostgreSQL cluster"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -q && break; sleep 0.5; done
fi

if command -v redis-server >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "== starting a local Redis (rate-limit counters are tested against it)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile /tmp/resonance-test-redis.log || true
fi

echo "== ruff"
python -m ruff check .
python -m ruff format --check .

echo "== import contracts (.importlinter)"
lint-imports --no-cache

echo "== pytest"
start=$SECONDS
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  # pytest's "no tests were collected": a suite that ran nothing proves nothing.
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
echo "== pytest took $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
exit "$status"
