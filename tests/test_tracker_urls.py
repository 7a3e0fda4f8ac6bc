"""URL hygiene and canonical content URLs (pure functions)."""

from __future__ import annotations

import pytest

from tracker.urls import (
    BadUrl,
    ascii_host,
    canonical,
    clean_href,
    clean_referrer,
    clean_url,
    site_origin,
)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        (
            "https://a.com/p?utm_source=x&gclid=1&q=s#frag",
            "https://a.com/p?utm_source=x",
        ),
        ("HTTPS://A.COM:443/P", "https://a.com/P"),
        ("http://a.com:8080/", "http://a.com:8080/"),
        ("https://a.com/u/jane@corp.com/x", "https://a.com/u/[email]/x"),
        ("https://a.com/reset/Zx81kq0Lm2Np3Qr4St5Uv6Wx", "https://a.com/reset/[token]"),
        (
            "https://a.com/?utm_term=jane%40corp.com",
            "https://a.com/?utm_term=%5Bemail%5D",
        ),
        ("https://user:pw@a.com/", "https://a.com/"),
        ("https://a.com/caf\u00e9", "https://a.com/caf%C3%A9"),
        ("https://B\u00dcCHER.de/neu", "https://xn--bcher-kva.de/neu"),
        ("https://user:pw@fa\u00df.de:8443/", "https://xn--fa-hia.de:8443/"),
    ],
)
def test_clean_url_keeps_only_what_may_be_stored(raw, cleaned):
    assert clean_url(raw) == cleaned


@pytest.mark.parametrize(
    "raw",
    ["javascript:alert(1)", "data:text/html,x", "ftp://a.com/", "https://<b>/", "/rel"],
)
def test_clean_url_refuses_what_is_not_an_http_url(raw):
    with pytest.raises(BadUrl):
        clean_url(raw)


@pytest.mark.parametrize(
    ("url", "content"),
    [
        ("https://a.com/", "https://a.com/"),
        ("https://a.com/blog/", "https://a.com/blog"),
        ("https://a.com/blog/index.html", "https://a.com/blog"),
        ("https://a.com/index.htm", "https://a.com/"),
        ("https://a.com/blog?utm_source=x", "https://a.com/blog"),
    ],
)
def test_canonical_groups_variants_of_a_page(url, content):
    assert canonical(url) == content


def test_referrer_loses_its_query():
    assert clean_referrer("https://www.google.com/search?q=me") == (
        "https://www.google.com/search"
    )
    assert clean_referrer("android-app://com.slack/") is None


def test_href_of_other_schemes_keeps_only_the_scheme():
    assert clean_href("mailto:jane@corp.com") == "mailto:"
    assert clean_href("javascript:alert(1)") == "javascript:"
    assert clean_href("https://a.com/x?utm_medium=cta&id=1") == (
        "https://a.com/x?utm_medium=cta"
    )


@pytest.mark.parametrize(
    ("host", "ascii"),
    [
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2003 made it fass.de; browsers do not
        ("ＥＸＡＭＰＬＥ。com", "example.com"),  # full-width letters and dot
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("Docs.Example.COM", "docs.example.com"),
        ("example.com.", "example.com."),
        ("127.0.0.1", "127.0.0.1"),
        ("my_app", "my_app"),
        ("::1", "::1"),
    ],
)
def test_hosts_are_spelled_as_browsers_send_them(host, ascii):
    assert ascii_host(host) == ascii


@pytest.mark.parametrize(
    "host",
    [
        "exa mple.com",
        "a" * 64 + ".com",
        "-bad-.com",
        "bad-.com",
        "a..com",
        "xn--zz.de",
        "b\u00fccher\u200d.de",
        "<b>",
        ".".join(["a" * 60] * 5) + ".com",  # over 253 characters
    ],
)
def test_impossible_hosts_are_refused(host):
    with pytest.raises(BadUrl, match="bad host name"):
        ascii_host(host)


def test_an_emoji_domain_is_taken_as_browsers_send_it_not_as_typed():
    assert ascii_host("xn--i-7iq.ws") == "xn--i-7iq.ws"  # i❤.ws
    with pytest.raises(BadUrl, match="Codepoint U\\+2764 .* not allowed"):
        ascii_host("i❤.ws")  # IDNA 2008 has no symbols


def test_an_origin_keeps_its_port_and_drops_the_default_one():
    assert site_origin("https://Bücher.de:8443/") == "https://xn--bcher-kva.de:8443"
    assert site_origin("https://Bücher.de:443") == "https://xn--bcher-kva.de"
