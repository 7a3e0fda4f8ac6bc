""" "Take snapshot" on the content page, end to end with Debian's Chromium:
pages served on 127.0.0.1 by the test, a failure explained in words (which URL,
what answered, what to do) with the form kept, and a success stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import form_csrf_token, post_batch
from factories import batch, pv
from servers import free_port
from sqlalchemy import select

from resonance.core.clock import naive_utc
from resonance.core.models import Content, Snapshot, SnapshotElement
from tracker.contents import put_content

pytestmark = pytest.mark.browser

PAGE = b"""<!doctype html><html><head><title>Pricing plans</title></head>
<body style="margin:0"><h1>Pricing</h1><p>Three plans.</p>
<button id="buy" style="width:200px;height:40px">Buy now</button></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    """/ok answers a page, /broken a 500."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path == "/ok":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)
        else:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"it broke")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    """The test's pages on 127.0.0.1, their base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def instance(app, tmp_path) -> Path:
    app.instance_path = str(tmp_path)
    return tmp_path / "snapshots"


@pytest.fixture(autouse=True)
def needs_chromium():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")


def _item(session, site, url: str) -> int:
    content_id = put_content(session, site.id, url, "", naive_utc())
    session.commit()
    return content_id


def _take(client, content_id: int, query: str = "", form: dict | None = None):
    """POST the snapshot form as the content page's (its CSRF token)."""
    page = client.get(f"/dash/sites/blog/content/{content_id}")
    token = form_csrf_token(page.get_data(as_text=True))
    return client.post(
        f"/dash/sites/blog/content/{content_id}/snapshot{query}",
        data={"csrf_token": token, **(form or {})},
    )


def test_a_page_that_answers_500_is_explained_with_the_form_kept(
    client, session, site, pages, instance
):
    url = f"{pages}/broken"
    content_id = _item(session, site, url)

    response = _take(client, content_id, "?device=mobile")

    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "The snapshot failed" in body
    assert "the page answered HTTP 500" in body
    assert "must answer 200 to a plain GET" in body
    assert f'<code class="url">{url}</code>' in body
    # The form is kept, with the filter, to try again.
    assert f"/content/{content_id}/snapshot?device=mobile" in body
    assert "Try again" in body
    assert session.scalar(select(Snapshot.id)) is None


def test_a_port_nothing_listens_on_says_the_page_must_be_reachable(
    client, session, site, instance
):
    url = f"http://127.0.0.1:{free_port()}/nobody"
    content_id = _item(session, site, url)

    response = _take(client, content_id, "?format=json")

    assert response.status_code == 502
    failure = response.json
    assert failure["url"] == url
    assert failure["kind"] == "unreachable"
    assert failure["status"] is None
    assert failure["answered"].startswith("nothing answered")
    assert "reachable from the server running Resonance" in failure["advice"]
    assert "ERR_CONNECTION_REFUSED" in failure["detail"]


def test_a_reachable_page_is_snapshotted_at_three_widths_with_labels(
    client, session, site, pages, instance
):
    url = f"{pages}/ok"
    content_id = _item(session, site, url)

    response = _take(client, content_id)

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/content/{content_id}")
    shots = session.scalars(select(Snapshot).order_by(Snapshot.width_px)).all()
    assert [s.width_px for s in shots] == [375, 768, 1440]
    assert all((instance / s.image).is_file() for s in shots)
    page = client.get(f"/dash/sites/blog/content/{content_id}?format=json").json
    assert page["snapshot"]["width_px"] == 1440
    assert page["content"]["title"] == "Pricing plans"
    # No click yet: no element boxes to record.
    assert session.scalar(select(SnapshotElement.selector)) is None


def test_the_content_page_form_says_what_the_button_will_do(
    client, session, site, pages
):
    url = f"{pages}/ok/<i>"  # stored cleaned: %3Ci%3E
    assert post_batch(client, batch(pv(url=url, ti="Ok"))).status_code == 204
    content_id = session.scalar(select(Content.id))

    body = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert 'data-snapshot-widths="375, 768 and 1440"' in body
    assert f'data-snapshot-url="{pages}/ok/%3Ci%3E"' in body
    assert 'class="snapshot-status" role="status" aria-live="polite"' in body


def test_demo_pages_are_loaded_from_the_server_that_was_asked(app):
    """The demo's URLs say 127.0.0.1:8000; served elsewhere, "Take snapshot"
    loads them from where the request came in (it was a refused connection)."""
    from dashboard.snapshot_views import own_page

    with app.test_request_context(base_url="http://127.0.0.1:8123/"):
        demo = own_page("demo", "http://127.0.0.1:8000/demo/pricing?plan=pro")
        home = own_page("demo", "http://127.0.0.1:8000/demo")
        other = own_page("blog", "http://127.0.0.1:8000/demo/pricing")
        elsewhere = own_page("demo", "http://127.0.0.1:8000/democracy")

    assert demo == "http://127.0.0.1:8123/demo/pricing?plan=pro"
    assert home == "http://127.0.0.1:8123/demo"
    assert other is None
    assert elsewhere is None
