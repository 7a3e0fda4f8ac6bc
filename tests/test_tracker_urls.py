"""URL hygiene and canonical content URLs (pure functions)."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest

from tracker.urls import (
    BadUrl,
    ascii_host,
    canonical,
    clean_href,
    clean_referrer,
    clean_url,
    fit,
    redact,
    site_origin,
    stored_url,
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


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Pay with 4111 1111 1111 1111", "Pay with [card]"),
        ("/card/4242424242424242/confirm", "/card/[card]/confirm"),
        ("5555-5555-5555-4444", "[card]"),
        ("378282246310005 (Amex, 15 digits)", "[card] (Amex, 15 digits)"),
        ("Order 12 4111 1111 1111 1111 paid", "Order 12 [card] paid"),
        ("Write to ann@example.com", "Write to [email]"),
        (
            "ann%40example.com paid with 4111%201111%201111%201111",
            "[email] paid with [card]",
        ),
    ],
)
def test_card_numbers_and_addresses_are_scrubbed_from_any_text(text, scrubbed):
    assert redact(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "Call 0800 123 4567",  # too few digits
        "41111111111111111111",  # 20 digits: no card has as many
        "Chapter 4 of 12, 2026-12-06",
    ],
)
def test_numbers_that_are_no_card_are_kept(text):
    assert redact(text) == text


def test_a_card_number_in_a_url_path_query_or_referrer_is_not_kept():
    assert clean_href("https://a.com/card/4242424242424242/confirm") == (
        "https://a.com/card/[card]/confirm"
    )
    assert clean_url("https://a.com/?utm_content=5555-5555-5555-4444") == (
        "https://a.com/?utm_content=%5Bcard%5D"
    )
    assert clean_referrer("https://shop.example/pay/4111-1111-1111-1111/") == (
        "https://shop.example/pay/[card]/"
    )


@pytest.mark.parametrize("length", range(1985, 2001))
@pytest.mark.parametrize("character", ["é", "€", "😀"])
def test_a_url_cut_to_2000_characters_ends_on_a_whole_character(length, character):
    """Percent escapes of 1 to 4 bytes per character, cut at every offset."""
    path = "a" * (length - len("https://a.com/")) + character * 400
    url = stored_url("https://a.com/" + path)

    assert len(url) <= 2000
    assert not url.endswith("%") and url[-2:-1] != "%"
    kept = unquote(url, errors="strict")  # raises on a cut character's bytes
    assert kept.rstrip(character).endswith("a")
    assert len(url) > 2000 - len(quote(character))  # at most one character lost


def test_fit_leaves_a_short_url_alone():
    assert fit("https://a.com/%E2%82%AC", 2000) == "https://a.com/%E2%82%AC"
    assert fit("https://a.com/%E2%82%AC", 20) == "https://a.com/"
