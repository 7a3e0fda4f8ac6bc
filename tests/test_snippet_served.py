"""The snippet as the collector serves it: small, cacheable, current.

Two files: the core ``/r.js`` (static/js/resonance.js) and the extension
``/r2.js`` (static/js/resonance-extras.js) that the core imports once the page
has settled. Each stays within its gzip budget (static/js/build.sh).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "static" / "js"
# (route, build, source)
FILES = [
    ("/r.js", "r.min.js", "resonance.js"),
    ("/r2.js", "r2.min.js", "resonance-extras.js"),
]
# gzip -9 bytes, as static/js/build.sh checks them.
BUDGETS = {"/r.js": 3200, "/r2.js": 2048}
served_files = pytest.mark.parametrize(
    "route, build, source", FILES, ids=["core", "extension"]
)


@served_files
def test_served_snippet_is_within_its_gzip_budget(client, route, build, source):
    response = client.get(route)

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert len(gzip.compress(response.data, compresslevel=9)) <= BUDGETS[route]


@served_files
def test_served_snippet_is_built_from_the_current_source(client, route, build, source):
    """build.sh records the hash of the source it minified beside the build."""
    served = client.get(route).data
    digest = hashlib.sha256((JS / source).read_bytes()).hexdigest()[:12]

    assert served == (JS / build).read_bytes()
    assert (JS / f"{build}.sha").read_text().strip() == digest, (
        f"{build} is stale: run static/js/build.sh"
    )


@served_files
def test_served_snippet_is_cacheable_from_any_origin(client, route, build, source):
    response = client.get(route)

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.max_age == 3600


@served_files
def test_served_snippet_answers_304_to_a_known_etag(client, route, build, source):
    etag = client.get(route).headers["ETag"]

    response = client.get(route, headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_core_and_extension_have_their_own_etags(client):
    assert client.get("/r.js").headers["ETag"] != client.get("/r2.js").headers["ETag"]


def test_extension_is_an_es_module_that_the_core_imports(client):
    """The core loads it with import(): a module with a default export, at the
    path the core names."""
    core = client.get("/r.js").data.decode()
    extension = client.get("/r2.js").data.decode()

    assert re.search(r'import\(\w+\+"/r2\.js"\)', core)
    assert "export default" in extension
