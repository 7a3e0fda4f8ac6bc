"""URL hygiene: what of a URL may be stored, and which content item it is.

Owns: stripping fragments, non-``utm_*`` query keys, e-mail addresses, payment
card numbers and token-like strings from URLs before they are stored (and the
one scrubbing function, :func:`redact`, that titles, click texts and headings go
through too), the length a stored URL is cut to, the canonical form that groups
page variants into one content item, and host names spelled as browsers send
them (ASCII, IDNA 2008 by UTS 46 through the ``idna`` package: Python's own
``idna`` codec is IDNA 2003, which turns ``faß.de`` into ``fass.de``, another
domain). Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import idna

from resonance.core.sizes import URL_LEN

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 24+ characters mixing letters and digits: session ids, reset tokens, API keys.
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])"
    r"[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])"
)
# Digits with at most one space or dash between two: where a card number hides
# (4111 1111 1111 1111, 5555-5555-5555-4444, 4242424242424242).
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9])*")
_DIGIT_GROUP = re.compile(r"[0-9]+|[ -]")
CARD_DIGITS = range(13, 20)  # payment card numbers have 13 to 19 digits
# The end of a URL cut inside a percent escape: "%" or "%E".
_CUT_ESCAPE = re.compile(r"%[0-9A-Fa-f]?\Z")
_LAST_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})\Z")
_INDEX_PAGE = re.compile(r"/index\.(?:html?|php|aspx?)$", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_IPV6 = re.compile(r"^[0-9a-f:.]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Keep printable ASCII that is legal in a path; percent-encode the rest.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%[]"


class BadUrl(ValueError):
    """The string is not an http(s) URL."""


def redact(text: str) -> str:
    """Replace e-mail addresses, payment card numbers and token-like strings with
    placeholders: the one scrubbing of every text a page sends (URLs, titles,
    click texts, headings), so that no field keeps what another would drop."""
    text = _EMAIL.sub("[email]", unquote(text))
    text = _DIGIT_RUN.sub(_scrub_cards, text)
    return _TOKEN.sub("[token]", text)


def _scrub_cards(run: re.Match) -> str:
    """A run of digit groups with the card numbers in it replaced by ``[card]``:
    consecutive groups of 13 to 19 digits in all that pass the Luhn check, so a
    card number typed after an order number is found too."""
    text = run.group()
    if sum(ch.isdigit() for ch in text) < CARD_DIGITS.start:
        return text
    parts = _DIGIT_GROUP.findall(text)  # groups and the separators between them
    groups = parts[::2]
    out: list[str] = []
    first = 0
    while first < len(groups):
        last = _card_ending_at(groups, first)
        if last is None:
            out += [groups[first], *parts[2 * first + 1 : 2 * first + 2]]
            first += 1
        else:
            out += ["[card]", *parts[2 * last + 1 : 2 * last + 2]]
            first = last + 1
    return "".join(out)


def _card_ending_at(groups: list[str], first: int) -> int | None:
    """The last group of the longest card number starting at group ``first``."""
    found, digits = None, ""
    for last in range(first, len(groups)):
        digits += groups[last]
        if len(digits) > CARD_DIGITS.stop - 1:
            break
        if len(digits) in CARD_DIGITS and luhn(digits):
            found = last
    return found


def luhn(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check, as card numbers do."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def fit(url: str, limit: int = URL_LEN) -> str:
    """``url`` cut to ``limit`` characters, never inside a percent escape (a cut
    ``%E``) nor inside the escaped bytes of one character: what is kept decodes."""
    if len(url) <= limit:
        return url
    cut = _CUT_ESCAPE.sub("", url[:limit])
    # Walk back over the escaped bytes that continue a character (10xxxxxx) to
    # the byte that starts it; drop them all if the character is incomplete.
    end, continuing = len(cut), 0
    while (found := _LAST_ESCAPE.search(cut, 0, end)) is not None:
        byte = int(found.group(1), 16)
        if 0x80 <= byte < 0xC0 and continuing < 3:
            continuing += 1
            end = found.start()
            continue
        if continuing < _utf8_length(byte) - 1:
            return cut[: found.start()]  # the character's bytes were cut
        break
    return cut


def _utf8_length(first: int) -> int:
    """Bytes of a character whose UTF-8 form starts with byte ``first`` (1 for
    a byte that starts none)."""
    if first >= 0xF0:
        return 4
    if first >= 0xE0:
        return 3
    return 2 if first >= 0xC0 else 1


def clean_url(raw: str) -> str:
    """The URL as it may be stored: http(s) only, no fragment, utm keys only."""
    parts = _split(raw)
    query = [
        (key, redact(value)[:200])
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key in UTM_KEYS
    ]
    path = quote(redact(parts.path), safe=_PATH_SAFE) or "/"
    return urlunsplit((parts.scheme, _netloc(parts), path, urlencode(query), ""))


def stored_url(raw: str) -> str:
    """A page URL as a page view stores it: cleaned, and cut to the column's
    length on a whole character (the crawler refuses a canonical URL that long
    instead: it names a page, and a cut one would name another)."""
    return fit(clean_url(raw))


def clean_referrer(raw: str | None) -> str | None:
    """Origin and path of a referrer; its query may hold anything, so it is dropped."""
    if not raw:
        return None
    try:
        parts = _split(raw)
    except BadUrl:
        return None
    path = quote(redact(parts.path), safe=_PATH_SAFE) or "/"
    return fit(urlunsplit((parts.scheme, _netloc(parts), path, "", "")))


def clean_href(raw: str | None) -> str | None:
    """A link target: a cleaned http(s) URL, or only the scheme of any other kind.

    ``mailto:`` links carry addresses and ``javascript:`` links carry code; the
    scheme alone says what kind of link was clicked.
    """
    if not raw:
        return None
    try:
        return stored_url(raw)
    except BadUrl:
        scheme = raw.split(":", 1)[0].strip().lower()
        return f"{scheme}:" if scheme.isalpha() and len(scheme) <= 20 else None


def utm(url: str) -> dict[str, str]:
    """The utm_* keys of a cleaned URL, by name."""
    return {k: v for k, v in parse_qsl(urlsplit(url).query) if k in UTM_KEYS}


def canonical(url: str) -> str:
    """The content item a cleaned URL belongs to: no query, no index page, no
    trailing slash (the root stays ``/``), lower-case host."""
    parts = urlsplit(url)
    path = _INDEX_PAGE.sub("/", parts.path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def url_hash(url: str) -> str:
    """A fixed-size key for a canonical URL (unique indexes stay small)."""
    return hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, as a browser's ``Origin``
    header spells it (lower case, no default port); BadUrl for anything else,
    e.g. ``https://<b>``."""
    parts = _split(url)
    return f"{parts.scheme.lower()}://{_netloc(parts)}"


def site_origin(entry: str) -> str:
    """An allowed origin as typed by a person: ``scheme://host[:port]`` and
    nothing else (a trailing ``/`` is tolerated). BadUrl names what is wrong."""
    entry = entry.strip()
    if "://" not in entry:
        raise BadUrl(f"{entry[:80]!r} is not an origin like https://example.com")
    try:
        parts = _split(entry)
    except BadUrl as exc:
        raise BadUrl(f"{entry[:80]!r} is not an origin: {exc}") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadUrl(
            f"{entry[:80]!r} has a path or query: an origin is only "
            "scheme://host[:port]"
        )
    if parts.username is not None or parts.password is not None:
        raise BadUrl(f"{entry[:80]!r}: an origin has no user name or password")
    return origin(entry)


def _split(raw: str):
    try:
        parts = urlsplit(raw.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise BadUrl(str(exc)) from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise BadUrl("not an http(s) URL")
    host = ascii_host(parts.hostname)
    userinfo, at, _ = parts.netloc.rpartition("@")
    host_port = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_port += f":{parts.port}"
    return parts._replace(netloc=f"{userinfo}{at}{host_port}")


@lru_cache(maxsize=1024)
def ascii_host(host: str) -> str:
    """A host name as browsers send it in ``Origin`` and in page URLs: lower
    case, and a name with non-ASCII letters in its ASCII (punycode) form by
    UTS 46 non-transitional processing, as the URL standard does (``BÜCHER.de``
    is ``xn--bcher-kva.de``, ``faß.de`` is ``xn--fa-hia.de``, not ``fass.de``).
    An ASCII name is only lower-cased, as browsers do (so ``_`` stays allowed),
    its ``xn--`` labels checked to be punycode: that is what a browser sends,
    emoji domains included, which IDNA 2008 refuses when typed as Unicode.
    BadUrl says what is wrong with anything else. Memoised: every page URL of
    a beacon asks, for a site's few hosts."""
    lowered = host.lower()
    if ":" in lowered:  # an IPv6 literal, brackets already taken off
        if not _IPV6.match(lowered):
            raise BadUrl("bad IPv6 address")
        return lowered
    if not lowered.isascii():
        try:
            lowered = idna.encode(host, uts46=True).decode("ascii")
        except (UnicodeError, ValueError) as exc:
            raise BadUrl(f"bad host name: {exc}") from None
    _check_labels(lowered)
    return lowered


def _is_punycode(label: str) -> bool:
    """Whether an ``xn--`` label decodes to a name with non-ASCII letters."""
    try:
        decoded = label.removeprefix("xn--").encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return not decoded.isascii()


def _check_labels(name: str) -> None:
    """Each dot-separated label of an ASCII host name: 1 to 63 letters, digits,
    ``-`` or ``_``, no ``-`` at either end, an ``xn--`` one punycode; 253
    characters in all (a final dot aside). The caller quotes what was typed;
    the message says what is wrong."""
    name = name.removesuffix(".")
    if len(name) > 253:
        raise BadUrl("bad host name: over 253 characters")
    for label in name.split("."):
        if not label:
            raise BadUrl("bad host name: an empty label (two dots)")
        if len(label) > 63:
            raise BadUrl(f"bad host name: {label[:20]!r}… is over 63 characters")
        if label.startswith("xn--") and not _is_punycode(label):
            raise BadUrl(f"bad host name: {label[:63]!r} is not punycode")
        if not _LABEL.match(label):
            if _LABEL.match(label.strip("-")):
                raise BadUrl(f"bad host name: {label!r} starts or ends with -")
            raise BadUrl("bad host name")


def _netloc(parts) -> str:
    """Lower-case host, default port dropped, credentials never kept."""
    host = parts.hostname
    scheme = parts.scheme.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port and port != _DEFAULT_PORTS[scheme]:
        return f"{host}:{port}"
    return host
