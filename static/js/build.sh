#!/usr/bin/env bash
# Builds r.min.js (served as /r.js) from resonance.js with terser, and checks the
# size budget: at most 2,048 bytes gzipped (gzip -9).
# The first line records the source hash so that a test can spot a stale build.
set -euo pipefail
cd "$(dirname "$0")"

hash=$(sha256sum resonance.js | cut -c1-12)
min=$(npx --yes terser@5 resonance.js \
  --ecma 2020 \
  --compress passes=3,unsafe_arrows=true \
  --mangle \
  --comments false)
printf '/*! resonance %s */\n%s\n' "$hash" "$min" > r.min.js

size=$(gzip -9 < r.min.js | wc -c)
echo "r.min.js: $(wc -c < r.min.js) bytes, ${size} bytes gzipped (limit 2048)"
if [ "$size" -gt 2048 ]; then
  echo "r.min.js is over the 2,048-byte gzip budget" >&2
  exit 1
fi
