#!/usr/bin/env bash
# Builds the snippet with terser and checks its size budgets (gzip -9):
#   resonance.js        -> r.min.js   (served as /r.js):  at most 3,200 bytes
#   resonance-extras.js -> r2.min.js  (served as /r2.js): at most 2,048 bytes
# and fails above either. (The core's budget was 2,048 bytes until issue 19 put
# identify from forms, batches cut by size, scrubbing, attention per band and
# the rage and delivery rules in it: correctness first, then bytes.) The core
# /r.js loads the extension /r2.js once the page has settled, so the
# extension's bytes are off the page's critical path.
#
# The .min.js files hold only the minified code: no header comment and no
# trailing newline, every byte counts. The first 12 hex digits of the sha256 of
# each source go to <build>.sha instead, so that tests can spot a stale build.
#
# Properties are never mangled: the short object keys are the wire format.
# (passes=5 and unsafe_methods, unsafe_comps, pure_getters were tried: they save
# nothing on this source, so the build keeps to the safe options.)
set -euo pipefail
cd "$(dirname "$0")"

build() { # source, output, gzip budget in bytes, extra terser flags...
  local source=$1 output=$2 budget=$3
  shift 3
  npx --yes terser@5 "$source" \
    --ecma 2020 \
    --compress passes=3,unsafe_arrows=true \
    --mangle \
    --comments false \
    "$@" \
    --output "$output"
  sha256sum "$source" | cut -c1-12 > "$output.sha"
  local size
  size=$(gzip -9 < "$output" | wc -c)
  echo "$output: $(wc -c < "$output") bytes, ${size} bytes gzipped (limit $budget)"
  if [ "$size" -gt "$budget" ]; then
    echo "$output is over its $budget-byte gzip budget" >&2
    exit 1
  fi
}

build resonance.js r.min.js 3200
build resonance-extras.js r2.min.js 2048 --module
