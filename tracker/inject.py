"""Adding the Resonance tag to the HTML files of a static site.

Owns: putting the queue stub and the snippet tag just before ``</head>`` of every
page, or updating an existing Resonance tag in place (new host or site key), so
that running it again changes nothing.

The files are the site author's: only the inserted lines or the two attribute
values change, everything else stays byte for byte (encoding, line endings,
attribute quoting, comments). So the document is never re-serialised by a parser;
it is tokenised with ``html.parser`` (the tokenizer BeautifulSoup's
``html.parser`` builder runs on), which knows where each tag starts and where
``</head>`` is (not inside a comment or a script), and then edited as text.
BeautifulSoup's tree keeps no end-tag offsets, which is why it is not used here.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

STUB = (
    "<script>window.resonance=window.resonance||function(){"
    "(resonance.q=resonance.q||[]).push(arguments)}</script>"
)
HTML_SUFFIXES = (".html", ".htm")
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# One attribute of a start tag: name, and an optional quoted or bare value.
_ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
)


def snippet_tag(host: str, key: str) -> str:
    """The tag that loads the snippet from ``host`` for the site ``key``."""
    return (
        f'<script defer src="{html.escape(host)}/r.js" '
        f'data-site="{html.escape(key)}"></script>'
    )


def normalise_host(host: str) -> str:
    """``scheme://host[:port][/path]`` without a trailing slash; ValueError if bad."""
    parts = urlsplit(host.strip())
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or re.search(r"[\s\"'<>]", host.strip())
    ):
        raise ValueError(f"{host!r} is not a host like https://analytics.example.com")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def check_key(key: str) -> str:
    """A site key as it may go into an attribute; ValueError if it may not."""
    if not _KEY.match(key):
        raise ValueError(f"{key!r} is not a site key (letters, digits, - and _)")
    return key


# --- locating ------------------------------------------------------------------


@dataclass
class _Script:
    start: int  # offset of "<script"
    end: int  # offset just after the start tag's ">"
    attrs: dict[str, str | None]
    content: list[str] = field(default_factory=list)

    @property
    def is_resonance(self) -> bool:
        src = (self.attrs.get("src") or "").strip()
        return src.endswith("/r.js") and "data-site" in self.attrs

    @property
    def is_stub(self) -> bool:
        return "src" not in self.attrs and "resonance.q" in "".join(self.content)


class _Scanner(HTMLParser):
    """Offsets of ``<head>``, ``</head>``, ``<body>`` and every ``<script>``."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.head_start: int | None = None
        self.head_end: int | None = None
        self.body_start: int | None = None
        self.scripts: list[_Script] = []
        self._script: _Script | None = None
        self.feed(text)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs) -> None:
        offset = self._offset()
        if tag == "head" and self.head_start is None:
            self.head_start = offset
        elif tag == "body" and self.body_start is None:
            self.body_start = offset
        elif tag == "script":
            end = offset + len(self.get_starttag_text() or "")
            self._script = _Script(offset, end, dict(attrs))
            self.scripts.append(self._script)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.content.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None
        elif tag == "head" and self.head_end is None:
            self.head_end = self._offset()


# --- editing -------------------------------------------------------------------


def inject_html(text: str, host: str, key: str) -> str | None:
    """The page with the stub and tag in its head, or None if it has no head.

    An existing Resonance tag (a script whose ``src`` ends in ``/r.js`` and that
    has ``data-site``) is updated in place and never doubled; a page that is
    already right comes back unchanged.
    """
    scan = _Scanner(text)
    tags = [s for s in scan.scripts if s.is_resonance]
    has_stub = any(s.is_stub for s in scan.scripts)
    if tags:
        wanted = {"src": f"{host}/r.js", "data-site": key}
        for script in reversed(tags):  # from the end: earlier offsets stay valid
            updated = _set_attributes(text[script.start : script.end], wanted)
            text = text[: script.start] + updated + text[script.end :]
        return text if has_stub else _insert(text, tags[0].start, [STUB], own=True)
    if scan.head_start is None:
        return None
    at = scan.head_end if scan.head_end is not None else scan.body_start
    if at is None:
        return None
    lines = [snippet_tag(host, key)] if has_stub else [STUB, snippet_tag(host, key)]
    return _insert(text, at, lines, own=False)


def _set_attributes(start_tag: str, values: dict[str, str]) -> str:
    """The start tag with these attributes' values replaced, quoting kept."""
    edits: list[tuple[int, int, str]] = []
    for match in _ATTRIBUTE.finditer(start_tag, len("<script")):
        name = match["name"].lower()
        if name not in values:
            continue
        current = match["value"]
        quote = current[0] if current and current[0] in "\"'" else '"'
        if current is not None and _unquote(current) == values[name]:
            continue
        escaped = html.escape(values[name], quote=True)
        replacement = f"{match['name']}={quote}{escaped}{quote}"
        edits.append((match.start(), match.end(), replacement))
    for start, end, replacement in reversed(edits):
        start_tag = start_tag[:start] + replacement + start_tag[end:]
    return start_tag


def _unquote(value: str) -> str:
    if value[:1] in "\"'":
        value = value[1:-1]
    return html.unescape(value)


def _insert(text: str, at: int, lines: list[str], *, own: bool) -> str:
    """Insert ``lines`` before offset ``at``.

    When ``at`` begins its line (only indentation before it), each one goes on a
    line of its own, indented like the line it is put before (``own``) or like the
    line above (the last child of ``<head>``); otherwise they go inline.
    """
    line_start = text.rfind("\n", 0, at) + 1
    before = text[line_start:at]
    if before.strip():
        return text[:at] + "".join(lines) + text[at:]
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = before if own else _indent_above(text, line_start)
    block = "".join(f"{indent}{line}{newline}" for line in lines)
    return text[:line_start] + block + text[line_start:]


def _indent_above(text: str, line_start: int) -> str:
    """Indentation of the nearest non-blank line above ``line_start``."""
    for line in reversed(text[:line_start].splitlines()):
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""


# --- files -----------------------------------------------------------------------


@dataclass(frozen=True)
class InjectReport:
    """Which files changed, which were already up to date, which had no head."""

    changed: tuple[Path, ...]
    up_to_date: tuple[Path, ...]
    skipped: tuple[Path, ...]


def inject_file(path: Path, host: str, key: str) -> str:
    """Inject into one file: "changed", "up to date" or "skipped"."""
    data = path.read_bytes()
    # surrogateescape: any byte sequence comes back exactly as it was read.
    text = data.decode("utf-8", errors="surrogateescape")
    new = inject_html(text, host, key)
    if new is None:
        return "skipped"
    if new == text:
        return "up to date"
    _write_atomically(path, new.encode("utf-8", errors="surrogateescape"))
    return "changed"


def inject_directory(root: Path, host: str, key: str) -> InjectReport:
    """Inject into every .html/.htm file below ``root`` (validates host and key)."""
    host, key = normalise_host(host), check_key(key)
    outcome: dict[str, list[Path]] = {"changed": [], "up to date": [], "skipped": []}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in HTML_SUFFIXES and path.is_file():
            outcome[inject_file(path, host, key)].append(path)
    return InjectReport(
        tuple(outcome["changed"]),
        tuple(outcome["up to date"]),
        tuple(outcome["skipped"]),
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace the file's bytes, keeping its mode; never leave half a page."""
    target = path.resolve()
    mode = target.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".resonance-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
