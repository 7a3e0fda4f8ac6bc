"""The content catalog: what each page of a site says, crawled from its HTML.

Owns: turning a page's HTML into an outline (title, canonical URL, h1–h3 sections
with their word counts, expected reading time), finding the pages to crawl (a
sitemap, a list of URLs, a directory of HTML files), fetching them, and storing
outlines as ``Content`` and ``ContentSection`` rows. The dashboard compares the
attention the snippet measured with how long a section takes to read; that needs
the length of each section, which only the page itself can tell.

Parsing (:func:`parse_page`, :func:`parse_sitemap`) is pure; fetching and storing
are apart from it so each can be tested alone.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urljoin, urlsplit
from urllib.request import Request, urlopen

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from resonance.core.models import Content, ContentSection
from resonance.core.sizes import HEADING_LEN, TITLE_LEN, URL_LEN
from tracker.content_kinds import crawled_kind, is_form_page
from tracker.contents import auto_kind, put_content
from tracker.urls import clean_url

WORDS_PER_MINUTE = 230
USER_AGENT = "Resonance-crawler"
HTML_TYPES = ("text/html", "application/xhtml+xml")
# The snippet's layout event holds at most 200 sections; the catalog stops at the
# same count so that section indexes mean the same thing on both sides.
MAX_SECTIONS = 200
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_SITEMAP_URLS = 50_000  # the sitemap protocol's own limit per file

HEADINGS = ("h1", "h2", "h3")
# Never the article: code and styles, navigation, asides, and things not shown.
_ALWAYS_DROPPED = ("script", "style", "noscript", "template", "nav", "aside")
# Page-level banners and footers; inside an article, main or section they belong
# to the content (an article's <header> usually holds its <h1>).
_BANNERS = ("header", "footer")
_CONTENT_SCOPES = ("article", "main", "section")
# Elements that break words apart when rendered (``a<p>b</p>`` reads "a b").
_BLOCKS = frozenset(
    "address article blockquote br dd details div dl dt fieldset figcaption figure "
    "form h1 h2 h3 h4 h5 h6 header footer hr li main ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
_SPACE = re.compile(r"\s+")
_NOT_TEXT = PreformattedString  # comments, the doctype, CDATA: never read


class CrawlError(Exception):
    """A page could not be crawled (the crawl reports it and goes on)."""


@dataclass(frozen=True)
class Section:
    """An h1–h3 heading and the content up to the next one."""

    level: int
    heading: str
    words: int

    @property
    def expected_seconds(self) -> int:
        return reading_seconds(self.words)


@dataclass(frozen=True)
class PageOutline:
    """What a page says, as far as reading goes: no I/O made it."""

    url: str
    canonical_url: str
    title: str
    words: int
    sections: tuple[Section, ...]
    form_page: bool = False  # mostly a contact form: a conversion page

    @property
    def expected_seconds(self) -> int:
        return reading_seconds(self.words)


@dataclass(frozen=True)
class PageSource:
    """A page to crawl: its URL, and the local file that holds it if any."""

    url: str
    path: Path | None = None

    def load(self, timeout: float) -> str:
        """The page's HTML, from its file or over HTTP."""
        if self.path is not None:
            return self.path.read_bytes().decode("utf-8", errors="replace")
        return fetch(self.url, timeout=timeout, accept=HTML_TYPES)


@dataclass(frozen=True)
class CrawlResult:
    """What a crawl stored, and each page it skipped with the reason."""

    stored: tuple[PageOutline, ...]
    failed: tuple[tuple[str, str], ...]


def reading_seconds(words: int) -> int:
    """Expected reading time at 230 words a minute, in whole seconds."""
    return round(words * 60 / WORDS_PER_MINUTE)


# --- parsing (pure) ---------------------------------------------------------------


def parse_page(html: str, url: str) -> PageOutline:
    """The outline of one page's HTML fetched from ``url``.

    Words are counted in the main content only: inside the single ``<main>`` when
    there is one, never in scripts, styles, navigation, asides, or page-level
    headers and footers. A section runs from an h1–h3 heading to the next one and
    counts the heading's own words; words before the first heading count in the
    page's total only.
    """
    soup = BeautifulSoup(html, "html.parser")
    title_tag = (soup.head or soup).find("title")
    title = _collapse(title_tag.get_text()) if title_tag else ""
    canonical_url = _canonical_link(soup, url)
    root = _content_root(soup)
    _drop_chrome(root)
    _space_blocks(root)
    preamble: list[str] = []
    heads: list[tuple[int, str]] = []
    texts: list[list[str]] = []
    for node in root.descendants:
        if isinstance(node, Tag):
            if node.name in HEADINGS and len(heads) < MAX_SECTIONS:
                heads.append((int(node.name[1]), _collapse(node.get_text())))
                texts.append([])
        elif isinstance(node, NavigableString) and not isinstance(node, _NOT_TEXT):
            (texts[-1] if texts else preamble).append(str(node))
    sections = tuple(
        Section(level, heading[:HEADING_LEN], count_words("".join(parts)))
        for (level, heading), parts in zip(heads, texts, strict=True)
    )
    total = count_words("".join(preamble)) + sum(s.words for s in sections)
    form_page = is_form_page(root, total, count_words)
    return PageOutline(url, canonical_url, title, total, sections, form_page)


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding a letter or digit ("—" is no word)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def parse_sitemap(xml: str, base_url: str) -> tuple[list[str], list[str]]:
    """Page URLs and child sitemap URLs listed by a sitemap or sitemap index.

    ``<loc>`` values are resolved against ``base_url`` (real sitemaps hold
    absolute URLs; a relative one costs nothing to accept). Raises ValueError on
    anything that is not XML.
    """
    try:
        root = ElementTree.fromstring(xml.encode())
    except ElementTree.ParseError as exc:
        raise ValueError(f"not a sitemap: {exc}") from None
    locations = [
        urljoin(base_url, element.text.strip())
        for element in root.iter()
        if _local_name(element.tag) == "loc" and element.text and element.text.strip()
    ][:MAX_SITEMAP_URLS]
    if _local_name(root.tag) == "sitemapindex":
        return [], locations
    return locations, []


def url_path(relative: str) -> str:
    """The URL path of an HTML file below a site's root directory.

    ``index.html`` → ``""`` (the root), ``a/b.html`` → ``a/b``, ``a/index.html``
    → ``a/`` (which the canonical form turns into ``/a``).
    """
    *folders, name = relative.split("/")
    stem = name.rsplit(".", 1)[0]
    return quote("/".join([*folders, "" if stem.lower() == "index" else stem]))


def _canonical_link(soup: BeautifulSoup, url: str) -> str:
    """``<link rel=canonical>`` resolved against the page's URL, else the URL."""
    for link in soup.find_all("link", href=True):
        if "canonical" in [rel.lower() for rel in link.get("rel") or ()]:
            resolved = urljoin(url, link["href"].strip())
            if urlsplit(resolved).scheme in ("http", "https"):
                return resolved
    return url


def _content_root(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    mains = soup.find_all("main")
    if len(mains) == 1:
        return mains[0]
    return soup.body or soup


def _drop_chrome(root: Tag | BeautifulSoup) -> None:
    for tag in root.find_all(_ALWAYS_DROPPED):
        if not tag.decomposed:
            tag.decompose()
    for tag in root.find_all(_BANNERS):
        if not tag.decomposed and tag.find_parent(_CONTENT_SCOPES) is None:
            tag.decompose()


def _space_blocks(root: Tag | BeautifulSoup) -> None:
    """Put a space around block elements so words in adjacent blocks stay apart."""
    for tag in root.find_all(_BLOCKS):
        if tag.parent is not None:
            tag.insert_before(" ")
            tag.insert_after(" ")


def _collapse(text: str) -> str:
    """Whitespace runs as one space, trimmed: the snippet's ``text()`` does this."""
    return _SPACE.sub(" ", text).strip()


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- finding and fetching pages ------------------------------------------------------


def fetch(url: str, *, timeout: float = 10.0, accept: Sequence[str] = ()) -> str:
    """The body of an http(s) URL as text; CrawlError on anything but success.

    ``accept`` lists the content types wanted (any when empty). Bodies over 5 MB
    are refused: no article is that long, and a crawl must not fill memory.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise CrawlError("not an http(s) URL")
    request = Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            declared = response.headers.get("Content-Type") is not None
            if accept and declared and kind not in accept:
                raise CrawlError(f"not HTML ({kind})")
            body = response.read(MAX_PAGE_BYTES + 1)
            charset = response.headers.get_content_charset() or "utf-8"
    except HTTPError as exc:
        exc.close()
        raise CrawlError(f"HTTP {exc.code}") from None
    except URLError as exc:
        raise CrawlError(str(exc.reason)) from None
    except (OSError, HTTPException) as exc:
        raise CrawlError(f"{type(exc).__name__}: {exc}") from None
    if len(body) > MAX_PAGE_BYTES:
        raise CrawlError("larger than 5 MB")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def sitemap_pages(
    source: str, text: str, *, timeout: float = 10.0
) -> tuple[list[str], list[tuple[str, str]]]:
    """Page URLs of a sitemap's ``text``, following a sitemap index one level
    down; and each child sitemap that failed, with the reason.

    ``source`` is the sitemap's URL (relative ``<loc>`` values resolve against
    it), or a file name. Raises ValueError if ``text`` is not a sitemap.
    """
    base = source if urlsplit(source).scheme in ("http", "https") else ""
    pages, children = parse_sitemap(text, base)
    failed: list[tuple[str, str]] = []
    for child in children:
        try:
            pages += parse_sitemap(fetch(child, timeout=timeout), child)[0]
        except (CrawlError, ValueError) as exc:
            failed.append((child, str(exc)))
    return pages[:MAX_SITEMAP_URLS], failed


def directory_pages(root: Path, base_url: str) -> list[PageSource]:
    """Every .html/.htm file below ``root``, at its URL under ``base_url``."""
    base = clean_url(base_url).rstrip("/")  # BadUrl (a ValueError) if not http(s)
    return [
        PageSource(f"{base}/{url_path(path.relative_to(root).as_posix())}", path)
        for path in sorted(root.rglob("*"))
        if path.suffix.lower() in (".html", ".htm") and path.is_file()
    ]


def plan_sources(
    sources: Iterable[str], *, base_url: str | None = None, timeout: float = 10.0
) -> tuple[list[PageSource], list[tuple[str, str]]]:
    """The pages to crawl from what the user named, and sources that failed.

    Each source is a directory of HTML files (needs ``base_url``), a file with one
    URL a line (``#`` comments allowed), a sitemap (a URL or file ending in
    ``.xml``), or a page URL. Raises ValueError for a source that is none of them.
    """
    pages: list[PageSource] = []
    failed: list[tuple[str, str]] = []
    for source in sources:
        path = Path(source)
        is_url = urlsplit(source).scheme in ("http", "https")
        where = urlsplit(source).path if is_url else path.name
        if not is_url and path.is_dir():
            if not base_url:
                raise ValueError(f"{source} is a directory: --base-url is needed")
            pages += directory_pages(path, base_url)
        elif where.lower().endswith(".xml") and (is_url or path.is_file()):
            try:
                if is_url:
                    text = fetch(source, timeout=timeout)
                else:
                    text = path.read_bytes().decode("utf-8", errors="replace")
                found, broken = sitemap_pages(source, text, timeout=timeout)
            except (CrawlError, OSError, ValueError) as exc:
                failed.append((source, str(exc)))
            else:
                pages += [PageSource(url) for url in found]
                failed += broken
        elif is_url:
            pages.append(PageSource(source))
        elif path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            pages += [
                PageSource(line.strip())
                for line in lines
                if line.strip() and not line.lstrip().startswith("#")
            ]
        else:
            raise ValueError(f"{source} is not a URL, a file or a directory")
    seen: set[str] = set()
    unique = [p for p in pages if not (p.url in seen or seen.add(p.url))]
    return unique, failed


# --- storing ---------------------------------------------------------------------


def store_outline(
    session: Session, site_id: int, outline: PageOutline, now: datetime
) -> int:
    """Upsert the content item of an outline and replace its sections; its id.

    The item is the one page views of the canonical URL land on (the content
    upsert of ``tracker.contents``, which ingest shares), so crawled lengths and
    measured attention meet on one row; its kind is decided again unless set by
    hand. Does not commit.
    """
    url = clean_url(outline.canonical_url)
    if len(url) > URL_LEN:
        raise CrawlError(f"canonical URL longer than {URL_LEN} characters")
    content_id = put_content(session, site_id, url, outline.title[:TITLE_LEN], now)
    kind = crawled_kind(url, outline.form_page)
    session.execute(
        update(Content)
        .where(Content.id == content_id)
        .values(words=outline.words, crawled_at=now, kind=auto_kind(kind))
    )
    session.execute(
        delete(ContentSection).where(ContentSection.content_id == content_id)
    )
    if outline.sections:
        session.execute(
            insert(ContentSection),
            [
                {
                    "content_id": content_id,
                    "idx": idx,
                    "level": section.level,
                    "heading": section.heading[:HEADING_LEN],
                    "words": section.words,
                }
                for idx, section in enumerate(outline.sections)
            ],
        )
    return content_id


Reporter = Callable[..., None]


def crawl(
    session: Session,
    site_id: int,
    pages: Sequence[PageSource],
    *,
    timeout: float = 10.0,
    now: datetime | None = None,
    report: Reporter | None = None,
) -> CrawlResult:
    """Fetch, parse and store each page, committing page by page.

    A page that fails (HTTP error, timeout, not HTML, a row the database refuses)
    is reported and skipped; the crawl goes on, and what was stored before an
    interruption stays stored. ``report(done, total, label, started=…)`` is told
    about every page (the CLI passes a :class:`resonance.cli.progress.Progress`).
    """
    report = report or _quiet
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    started = time.monotonic()
    stored: list[PageOutline] = []
    failed: list[tuple[str, str]] = []
    for done, page in enumerate(pages, 1):
        try:
            outline = parse_page(page.load(timeout), page.url)
            store_outline(session, site_id, outline, now)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - one bad page never ends a crawl
            session.rollback()
            reason = str(exc) if isinstance(exc, CrawlError) else _describe(exc)
            failed.append((page.url, reason))
            label = f"{page.url} skipped: {reason}"
        else:
            stored.append(outline)
            count = len(outline.sections)
            label = (
                f"{page.url} {outline.words:,} words, "
                f"{count} section{'' if count == 1 else 's'}"
            )
        report(done, len(pages), label, started=started)
    return CrawlResult(tuple(stored), tuple(failed))


def _quiet(*_args, **_kwargs) -> None:
    """No report (library use)."""


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
