"""The content catalog: outlines parsed from HTML (pure), and crawls of the fixture
site from a directory and over HTTP stored on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import count, free_port, post_batch
from factories import batch, pv
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import Content, ContentSection
from tracker.catalog import (
    PageSource,
    crawl,
    parse_page,
    parse_sitemap,
    plan_sources,
    reading_seconds,
    url_path,
)

FIXTURE = Path(__file__).with_name("site_fixture")
BASE = "https://fixture.example"

# Counted by hand from the pages in tests/site_fixture: (title, words, expected
# seconds at 230 words a minute, sections as (level, heading, words)).
INDEX = (
    "Acme Analytics – Home",
    34,
    9,
    [
        (1, "Welcome to Acme", 10),
        (2, "Why teams choose Acme", 16),
        (2, "Get started", 8),
    ],
)
GUIDE = (
    "The setup guide",
    42,
    11,
    [
        (1, "The setup guide", 9),
        (2, "Install", 12),
        (3, "Check it works", 13),
        (2, "Privacy & consent", 8),
    ],
)
POST = (
    "Five things sales wish you knew | Acme blog",
    74,  # 1 word ("Blog", the breadcrumb) before the first heading
    19,
    [
        (1, "Five things sales wish you knew", 18),
        (2, "1. Timing beats volume", 23),
        (2, "2. Context wins deals", 4),
        (3, "What they read", 13),
        (3, "What they skipped", 15),
    ],
)
POST_URL = "https://fixture.example/blog/five-things"  # its rel=canonical, cleaned


def outline_of(outline) -> tuple:
    sections = [(s.level, s.heading, s.words) for s in outline.sections]
    return (outline.title, outline.words, outline.expected_seconds, sections)


def stored(session) -> dict[str, tuple]:
    """Every content item as {url: (title, words, seconds, sections)}."""
    session.expire_all()
    result = {}
    for item in session.scalars(select(Content)):
        rows = session.scalars(
            select(ContentSection)
            .where(ContentSection.content_id == item.id)
            .order_by(ContentSection.idx)
        ).all()
        assert [row.idx for row in rows] == list(range(len(rows)))
        sections = [(row.level, row.heading, row.words) for row in rows]
        result[item.url] = (
            item.title,
            item.words,
            reading_seconds(item.words),
            sections,
        )
    return result


# --- parse_page: pure ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("index.html", INDEX), ("guide.html", GUIDE), ("blog/post.html", POST)],
)
def test_parse_page_outlines_the_fixture_pages_exactly(path, expected):
    html = (FIXTURE / path).read_text(encoding="utf-8")

    assert outline_of(parse_page(html, f"{BASE}/{path}")) == expected


def test_words_count_main_content_not_navigation_scripts_or_page_chrome():
    html = """<html><head><title>T</title><style>p{color:red}</style></head><body>
    <header><h1>Site banner words</h1></header>
    <nav>one two three</nav>
    <h1>Real title</h1><p>four five six</p>
    <aside>seven eight</aside>
    <script>var nine = "ten";</script><noscript>eleven</noscript>
    <!-- twelve thirteen -->
    <footer>fourteen</footer></body></html>"""

    outline = parse_page(html, "https://x.example/")

    assert [(s.heading, s.words) for s in outline.sections] == [("Real title", 5)]
    assert outline.words == 5


def test_only_the_main_element_counts_when_there_is_one():
    html = "<body><p>outside words</p><main><h2>In</h2><p>a b c</p></main></body>"

    outline = parse_page(html, "https://x.example/")

    assert (outline.words, [s.words for s in outline.sections]) == (4, [4])


def test_an_article_header_holding_the_h1_is_content():
    html = """<body><header>Site</header><article><header><h1>Title here</h1>
    <p>By me</p></header><p>Body text.</p><footer>Tags: a</footer></article></body>"""

    outline = parse_page(html, "https://x.example/")

    assert [(s.level, s.heading, s.words) for s in outline.sections] == [
        (1, "Title here", 8)
    ]


def test_a_section_runs_to_the_next_h1_to_h3_and_keeps_h4_inside():
    html = """<body><p>intro words here</p><h2>A</h2><p>one two</p><h4>Sub head</h4>
    <p>three</p><h3>B</h3><p>four five six</p></body>"""

    outline = parse_page(html, "https://x.example/")

    assert [(s.level, s.heading, s.words) for s in outline.sections] == [
        (2, "A", 6),
        (3, "B", 4),
    ]
    assert outline.words == 3 + 6 + 4  # the intro counts in the total only


def test_blocks_separate_words_and_inline_markup_does_not():
    html = "<body><h1>T</h1><ul><li>alpha</li><li>beta</li></ul><p>re<em>ad</em> —</p>"

    assert parse_page(html, "https://x.example/").sections[0].words == 1 + 2 + 1


def test_headings_are_whitespace_collapsed_and_cut_at_200_characters():
    long = "word " * 100
    html = f"<body><h2>\n  Spaced\n\t out  </h2><h3>{long}</h3></body>"

    headings = [s.heading for s in parse_page(html, "https://x.example/").sections]

    assert headings[0] == "Spaced out"
    assert len(headings[1]) == 200 and headings[1].startswith("word word")


def test_more_than_200_headings_fold_into_the_last_section():
    html = "<body>" + "<h2>H</h2><p>x</p>" * 205 + "</body>"

    outline = parse_page(html, "https://x.example/")

    assert len(outline.sections) == 200
    assert outline.sections[-1].words == 2 * 6
    assert outline.words == 205 * 2


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ('<link rel="canonical" href="/a/b?x=1">', "https://x.example/a/b?x=1"),
        (
            '<link rel="alternate canonical" href="https://y.example/">',
            "https://y.example/",
        ),
        ('<link rel="canonical" href="javascript:alert(1)">', "https://x.example/p"),
        ('<link rel="stylesheet" href="/s.css">', "https://x.example/p"),
        ("", "https://x.example/p"),
    ],
)
def test_canonical_is_the_resolved_link_else_the_page_url(link, expected):
    html = f"<html><head>{link}<title>T</title></head><body></body></html>"

    assert parse_page(html, "https://x.example/p").canonical_url == expected


def test_a_page_without_title_or_headings_still_has_an_outline():
    outline = parse_page("just some words", "https://x.example/")

    assert (outline.title, outline.words, outline.sections) == ("", 3, ())


def test_reading_time_is_words_at_230_a_minute():
    assert [reading_seconds(w) for w in (0, 115, 230, 1240)] == [0, 30, 60, 323]


def test_sitemap_lists_pages_and_a_sitemap_index_lists_sitemaps():
    pages, children = parse_sitemap((FIXTURE / "sitemap.xml").read_text(), BASE)
    index = """<?xml version="1.0"?><sitemapindex
      xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc> https://x.example/posts.xml </loc></sitemap></sitemapindex>"""

    assert (pages[1], pages[-1], children) == (
        f"{BASE}/guide.html",
        f"{BASE}/missing.html",
        [],
    )
    assert len(pages) == 4
    assert parse_sitemap(index, "https://x.example/") == (
        [],
        ["https://x.example/posts.xml"],
    )
    with pytest.raises(ValueError, match="not a sitemap"):
        parse_sitemap("<html><p>oops</html", BASE)


@pytest.mark.parametrize(
    ("relative", "path"),
    [
        ("index.html", ""),
        ("a/b.html", "a/b"),
        ("a/index.htm", "a/"),
        ("docs/Set up.html", "docs/Set%20up"),
    ],
)
def test_files_map_to_url_paths(relative, path):
    assert url_path(relative) == path


# --- crawling into the database ----------------------------------------------------


@pytest.fixture
def site_server() -> str:
    """tests/site_fixture over HTTP on 127.0.0.1; the sitemap names this server."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(FIXTURE), **kwargs)

        def do_GET(self):
            if self.path != "/sitemap.xml":
                return super().do_GET()
            host, port = self.server.server_address[:2]
            body = (FIXTURE / "sitemap.xml").read_text()
            body = body.replace(BASE, f"http://{host}:{port}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _quiet(*_args, **_kwargs) -> None:
    pass


def test_crawl_of_a_directory_stores_titles_sections_and_words(session, site):
    pages, failed = plan_sources([str(FIXTURE)], base_url=BASE)

    result = crawl(session, site.id, pages, report=_quiet)

    assert (len(result.stored), result.failed, failed) == (3, (), [])
    assert stored(session) == {
        f"{BASE}/": INDEX,
        f"{BASE}/guide": GUIDE,
        POST_URL: POST,
    }
    assert all(item.crawled_at for item in session.scalars(select(Content)))


def test_crawl_over_http_from_the_sitemap_reports_and_skips_a_404(
    session, site, site_server
):
    lines: list[str] = []
    pages, failed = plan_sources([f"{site_server}/sitemap.xml"])

    result = crawl(
        session, site.id, pages, report=lambda d, t, label, **_: lines.append(label)
    )

    assert failed == []
    assert result.failed == ((f"{site_server}/missing.html", "HTTP 404"),)
    assert stored(session) == {
        f"{site_server}/": INDEX,
        f"{site_server}/guide": GUIDE,
        POST_URL: POST,
    }
    assert lines == [
        f"{site_server}/ 34 words, 3 sections",
        f"{site_server}/guide.html 42 words, 4 sections",
        f"{site_server}/blog/post.html 74 words, 5 sections",
        f"{site_server}/missing.html skipped: HTTP 404",
    ]


def test_a_sitemap_index_file_leads_to_the_sitemaps_it_lists(site_server, tmp_path):
    index = tmp_path / "sitemap_index.xml"
    index.write_text(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site_server}/sitemap.xml</loc></sitemap>"
        f"<sitemap><loc>{site_server}/nope.xml</loc></sitemap></sitemapindex>"
    )
    broken = tmp_path / "broken.xml"
    broken.write_text("<urlset><url><loc>")

    pages, failed = plan_sources([str(broken), str(index)])

    assert [source for source, _ in failed] == [str(broken), f"{site_server}/nope.xml"]
    assert failed[0][1].startswith("not a sitemap")
    assert failed[1][1] == "HTTP 404"
    assert [page.url for page in pages] == [
        f"{site_server}/",
        f"{site_server}/guide.html",
        f"{site_server}/blog/post.html",
        f"{site_server}/missing.html",
    ]


def test_crawl_skips_unreachable_and_non_html_pages_and_goes_on(
    session, site, site_server, tmp_path
):
    listing = tmp_path / "urls.txt"
    closed = f"http://127.0.0.1:{free_port()}/gone"
    listing.write_text(
        f"# one URL a line\n{closed}\n\n{site_server}/sitemap.xml\n"
        f"ftp://x.example/a\n{site_server}/guide.html\n"
    )
    pages, _ = plan_sources([str(listing)], timeout=2)

    result = crawl(session, site.id, pages, timeout=2, report=_quiet)

    assert [url for url, _ in result.failed] == [
        closed,
        f"{site_server}/sitemap.xml",
        "ftp://x.example/a",
    ]
    reasons = [reason for _, reason in result.failed]
    assert "refused" in reasons[0].lower()
    assert reasons[1:] == ["not HTML (application/xml)", "not an http(s) URL"]
    assert list(stored(session)) == [f"{site_server}/guide"]


class _Inline(PageSource):
    """A page whose HTML is given in the test."""

    def __init__(self, url: str, html: str) -> None:
        super().__init__(url)
        object.__setattr__(self, "html", html)

    def load(self, timeout: float) -> str:
        return self.html


def test_a_canonical_url_too_long_to_store_is_skipped_and_the_rest_stored(
    session, site
):
    html = f'<link rel="canonical" href="{BASE}/{"x" * 2100}"><h1>Too long</h1>'
    pages = [_Inline(f"{BASE}/long", html), PageSource(BASE, FIXTURE / "index.html")]

    result = crawl(session, site.id, pages, report=_quiet)

    assert result.failed == (
        (f"{BASE}/long", "canonical URL longer than 2000 characters"),
    )
    assert stored(session) == {f"{BASE}/": INDEX}


def test_recrawl_replaces_sections_without_duplicates(session, site, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(FIXTURE, copy)
    crawl(session, site.id, plan_sources([str(copy)], base_url=BASE)[0], report=_quiet)
    index = copy / "index.html"
    text = index.read_text(encoding="utf-8")
    index.write_text(text.replace("<h2>Get started</h2>", "<p>Get started</p>"))

    crawl(session, site.id, plan_sources([str(copy)], base_url=BASE)[0], report=_quiet)

    assert count(session, Content) == 3
    assert count(session, ContentSection) == 3 + 4 + 5 - 1
    assert stored(session)[f"{BASE}/"] == (
        "Acme Analytics – Home",
        34,
        9,
        [(1, "Welcome to Acme", 10), (2, "Why teams choose Acme", 24)],
    )


def test_crawl_fills_the_content_item_page_views_already_created(
    client, session, site, tmp_path
):
    view = pv(url="https://blog.example.com/guide?utm_source=news#install", ti="")
    assert post_batch(client, batch(view)).status_code == 204
    (tmp_path / "guide.html").write_bytes((FIXTURE / "guide.html").read_bytes())

    crawl(
        session,
        site.id,
        plan_sources([str(tmp_path)], base_url="https://Blog.Example.com/")[0],
        report=_quiet,
    )

    assert count(session, Content) == 1
    assert stored(session) == {"https://blog.example.com/guide": GUIDE}


def test_a_page_view_without_a_title_keeps_the_crawled_one_and_a_later_title_wins(
    client, session, site, tmp_path
):
    """The crawler and the collector write the content item through one upsert:
    an empty title never wipes a known one, a page's own title replaces it."""
    (tmp_path / "guide.html").write_bytes((FIXTURE / "guide.html").read_bytes())
    crawl(
        session,
        site.id,
        plan_sources([str(tmp_path)], base_url="https://blog.example.com/")[0],
        report=_quiet,
    )
    session.commit()

    url = "https://blog.example.com/guide?utm_source=news"
    assert post_batch(client, batch(pv(url=url, ti=""))).status_code == 204
    assert stored(session)["https://blog.example.com/guide"][0] == "The setup guide"

    assert post_batch(client, batch(pv(url=url, ti="Setup, v2"))).status_code == 204
    assert count(session, Content) == 1
    assert stored(session)["https://blog.example.com/guide"][0] == "Setup, v2"


# --- the command line ----------------------------------------------------------------


def test_help_lists_crawl_inject_and_snapshot():
    result = subprocess.run(
        [sys.executable, "-c", "from resonance.cli import cli; cli()", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )

    for command in ("crawl", "inject", "snapshot"):
        assert f"\n  {command} " in result.stdout


def test_crawl_command_crawls_a_directory_with_progress_on_stderr(
    runner, session, site
):
    result = runner.invoke(
        cli, ["crawl", str(FIXTURE), "--site", "blog", "--base-url", BASE]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "crawled 3 pages, 0 skipped\n"
    notes = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert notes == [
        f"[1/3] {BASE}/blog/post 74 words, 5 sections",
        f"[2/3] {BASE}/guide 42 words, 4 sections",
        f"[3/3] {BASE}/ 34 words, 3 sections",
    ]
    assert result.stderr.splitlines()[-1].startswith("crawl: 3/3 pages 100%")
    assert stored(session) == {
        f"{BASE}/": INDEX,
        f"{BASE}/guide": GUIDE,
        POST_URL: POST,
    }


def test_crawl_command_over_http_reports_the_404(runner, session, site, site_server):
    result = runner.invoke(
        cli, ["crawl", f"{site_server}/sitemap.xml", "--site", "blog"]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "crawled 3 pages, 1 skipped\n"
    assert f"[4/4] {site_server}/missing.html skipped: HTTP 404" in result.stderr
    assert count(session, Content) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", str(FIXTURE), "--site", "blog"], "--base-url is needed"),
        (["crawl", "no/such/thing", "--site", "blog"], "not a URL, a file"),
        (["crawl", f"{BASE}/", "--site", "nope"], "no site has the key"),
    ],
)
def test_crawl_command_refuses_bad_arguments(runner, session, site, args, message):
    result = runner.invoke(cli, args)

    assert result.exit_code == 2
    assert message in result.output
    assert count(session, Content) == 0
