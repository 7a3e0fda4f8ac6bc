#!/usr/bin/env bash
# Builds r.min.js (served as /r.js) from resonance.js with terser, and checks the
# size budget: at most 2,048 bytes gzipped (gzip -9). Fails above it.
#
# r.min.js holds only the minified code: no header comment and no trailing
# newline, every byte counts. The first 12 hex digits of the sha256 of
# resonance.js go to r.min.js.sha instead, so that tests can spot a stale build.
#
# Properties are never mangled: the short object keys are the wire format.
# (passes=5 and unsafe_methods, unsafe_comps, pure_getters were tried: they save
# nothing on this source, so the build keeps to the safe options.)
set -euo pipefail
cd "$(dirname "$0")"

npx --yes terser@5 resonance.js \
  --ecma 2020 \
  --compress passes=3,unsafe_arrows=true \
  --mangle \
  --comments false \
  --output r.min.js
sha256sum resonance.js | cut -c1-12 > r.min.js.sha

size=$(gzip -9 < r.min.js | wc -c)
echo "r.min.js: $(wc -c < r.min.js) bytes, ${size} bytes gzipped (limit 2048)"
if [ "$size" -gt 2048 ]; then
  echo "r.min.js is over the 2,048-byte gzip budget" >&2
  exit 1
fi
