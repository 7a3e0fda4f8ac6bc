"""The snippet as the collector serves it: small, cacheable, current."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "static" / "js" / "resonance.js"


def test_served_snippet_is_at_most_2048_bytes_gzipped(client):
    response = client.get("/r.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert len(gzip.compress(response.data, compresslevel=9)) <= 2048


def test_served_snippet_is_built_from_the_current_source(client):
    first_line = client.get("/r.js").data.split(b"\n", 1)[0].decode()
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]

    assert first_line == f"/*! resonance {digest} */"


def test_served_snippet_is_cacheable_from_any_origin(client):
    response = client.get("/r.js")

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.max_age == 3600
