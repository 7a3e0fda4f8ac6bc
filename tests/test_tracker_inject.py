"""Injecting the Resonance tag into a static site: once, in place, and leaving
every other byte of the author's files alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from resonance.cli import cli
from tracker.inject import STUB, inject_directory, inject_html, snippet_tag

FIXTURE = Path(__file__).with_name("site_fixture")
HOST = "https://analytics.example.com"
TAG = f'<script defer src="{HOST}/r.js" data-site="blog"></script>'
PAGES = ("blog/post.html", "guide.html", "index.html")


@pytest.fixture
def site_copy(tmp_path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(FIXTURE, copy)
    return copy


def originals() -> dict[str, bytes]:
    return {page: (FIXTURE / page).read_bytes() for page in PAGES}


def contents(root: Path) -> dict[str, bytes]:
    return {page: (root / page).read_bytes() for page in PAGES}


def test_the_tag_and_stub_go_once_just_before_head_end(site_copy):
    report = inject_directory(site_copy, HOST + "/", "blog")

    assert [p.relative_to(site_copy).as_posix() for p in report.changed] == list(PAGES)
    for page in ("index.html", "guide.html"):
        lines = (site_copy / page).read_text(encoding="utf-8").splitlines()
        end = next(i for i, line in enumerate(lines) if line.strip() == "</head>")
        assert [line.strip() for line in lines[end - 2 : end]] == [STUB, TAG]
        assert sum("/r.js" in line for line in lines) == 1


def test_the_rest_of_each_file_is_byte_identical(site_copy):
    inject_directory(site_copy, HOST, "blog")

    after = contents(site_copy)
    index = FIXTURE.joinpath("index.html").read_bytes()
    guide = FIXTURE.joinpath("guide.html").read_bytes()
    # Indented like the line above </head>; the guide's head is not indented.
    inserted = f"  {STUB}\n  {TAG}\n".encode()
    assert after["index.html"] == index.replace(b"</head>", inserted + b"</head>")
    inserted = f"{STUB}\n{TAG}\n".encode()
    assert after["guide.html"] == guide.replace(b"</head>", inserted + b"</head>")


def test_a_second_run_changes_nothing(site_copy):
    inject_directory(site_copy, HOST, "blog")
    first = contents(site_copy)

    report = inject_directory(site_copy, HOST, "blog")

    assert report.changed == ()
    assert len(report.up_to_date) == 3
    assert contents(site_copy) == first


def test_an_existing_tag_is_updated_in_place_not_doubled(site_copy):
    old = b'<script defer src="https://analytics.old.example/r.js" data-site="oldkey">'
    assert old in originals()["blog/post.html"]

    inject_directory(site_copy, HOST, "blog")

    post = originals()["blog/post.html"]
    expected = post.replace(
        old + b"</script>", f"{STUB}\n{TAG}".encode()
    )  # the stub goes before the tag, which keeps its place in <body>
    assert (site_copy / "blog/post.html").read_bytes() == expected
    assert expected.count(b"/r.js") == 1


def test_a_new_host_and_key_update_the_tag_again(site_copy):
    inject_directory(site_copy, HOST, "blog")

    report = inject_directory(site_copy, "https://stats.example.org:8443/x", "k2")

    assert len(report.changed) == 3
    for page, text in contents(site_copy).items():
        assert text.count(b"/r.js") == 1, page
        assert text.count(STUB.encode()) == 1, page
        assert b'src="https://stats.example.org:8443/x/r.js" data-site="k2"' in text, (
            page
        )


def test_a_file_without_head_is_skipped_and_left_alone(site_copy):
    fragment = site_copy / "partials" / "card.htm"
    fragment.parent.mkdir()
    fragment.write_bytes(b"<div class=card><p>No head here</p></div>\n")

    report = inject_directory(site_copy, HOST, "blog")

    assert report.skipped == (fragment,)
    assert fragment.read_bytes() == b"<div class=card><p>No head here</p></div>\n"


def test_head_end_inside_a_comment_or_script_is_not_the_head_end():
    page = (
        "<html><head><!-- </head> -->\n"
        '<script>var s = "</head>";</script></head><body></body></html>'
    )

    result = inject_html(page, HOST, "blog")

    assert result == page.replace(
        "</head><body>", f"{STUB}{TAG}</head><body>"
    )  # inline, since </head> does not begin its line


def test_crlf_line_endings_and_non_utf8_bytes_survive(tmp_path):
    page = tmp_path / "latin.html"
    original = b"<html>\r\n<head>\r\n\t<title>Caf\xe9</title>\r\n</head>\r\n</html>\r\n"
    page.write_bytes(original)

    report = inject_directory(tmp_path, HOST, "blog")

    assert report.changed == (page,)
    inserted = f"\t{STUB}\r\n\t{TAG}\r\n".encode()
    assert page.read_bytes() == original.replace(b"</head>", inserted + b"</head>")


def test_single_quoted_and_bare_attributes_keep_their_style():
    page = "<head>\n  <script src='/r.js' async data-site=old></script>\n</head>"

    result = inject_html(page, HOST, "blog")

    assert result == (
        f"<head>\n  {STUB}\n  <script src='{HOST}/r.js' async "
        'data-site="blog"></script>\n</head>'
    )


def test_an_existing_stub_is_not_doubled():
    page = f"<head>\n{STUB}\n</head>"

    assert inject_html(page, HOST, "blog") == f"<head>\n{STUB}\n{TAG}\n</head>"


def test_a_head_without_end_tag_gets_the_tag_before_body():
    page = "<head><title>T</title>\n<body><p>x</p>"

    assert inject_html(page, HOST, "blog") == (
        f"<head><title>T</title>\n{STUB}\n{TAG}\n<body><p>x</p>"
    )


def test_other_scripts_named_r_js_without_data_site_are_not_ours():
    page = '<head>\n<script src="/vendor/r.js"></script>\n</head>'

    result = inject_html(page, HOST, "blog")

    assert result.count("/r.js") == 2
    assert result.endswith(f"{STUB}\n{TAG}\n</head>")


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("analytics.example.com", "blog"),
        ("ftp://analytics.example.com", "blog"),
        ('https://a.example.com/"><script>', "blog"),
        (HOST, 'blog" onload="x'),
        (HOST, ""),
    ],
)
def test_bad_hosts_and_keys_are_refused(site_copy, host, key):
    with pytest.raises(ValueError):
        inject_directory(site_copy, host, key)

    assert contents(site_copy) == originals()


def test_the_tag_matches_the_one_the_readme_documents():
    assert snippet_tag(HOST, "blog") == TAG
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert STUB in readme


def test_inject_command_reports_counts_and_is_idempotent(runner, site_copy):
    (site_copy / "empty.html").write_text("just text\n")
    args = ["inject", str(site_copy), "--site", "blog", "--host", HOST]

    first = runner.invoke(cli, args)
    second = runner.invoke(cli, args)

    assert first.exit_code == 0, first.output
    assert first.stdout == "3 changed, 0 already up to date, 1 skipped (no <head>)\n"
    assert "empty.html: no <head>, skipped" in first.stderr
    assert second.stdout == "0 changed, 3 already up to date, 1 skipped (no <head>)\n"


def test_inject_command_refuses_a_bad_host(runner, site_copy):
    result = runner.invoke(
        cli, ["inject", str(site_copy), "--site", "blog", "--host", "nope"]
    )

    assert result.exit_code == 2
    assert "is not a host" in result.output
    assert contents(site_copy) == originals()
