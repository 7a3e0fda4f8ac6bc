"""The snippet as the collector serves it: small, cacheable, current."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

JS = Path(__file__).resolve().parent.parent / "static" / "js"


def test_served_snippet_is_at_most_2048_bytes_gzipped(client):
    response = client.get("/r.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert len(gzip.compress(response.data, compresslevel=9)) <= 2048


def test_served_snippet_is_built_from_the_current_source(client):
    """build.sh records the hash of the source it minified beside the build."""
    served = client.get("/r.js").data
    digest = hashlib.sha256((JS / "resonance.js").read_bytes()).hexdigest()[:12]

    assert served == (JS / "r.min.js").read_bytes()
    assert (JS / "r.min.js.sha").read_text().strip() == digest


def test_served_snippet_is_cacheable_from_any_origin(client):
    response = client.get("/r.js")

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.max_age == 3600


def test_served_snippet_answers_304_to_a_known_etag(client):
    etag = client.get("/r.js").headers["ETag"]

    response = client.get("/r.js", headers={"If-None-Match": etag})

    assert response.status_code == 304
