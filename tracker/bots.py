"""Known bots, by user agent.

Owns: the decision "this beacon came from a bot". Bots are stored apart
(``bot_hits``) so they never inflate visitor counts, yet stay visible.

Which user agents are bots comes from the maintained crawler-user-agents list
(``crawleruseragents``: case-sensitive regular expressions with example user
agents), plus what that list leaves out: a few HTTP clients and test runners,
and robots that name themselves (``…bot/1.0``, ``+https://…``) before the list
knows them. Nearly all the list's patterns are plain words, possibly with a
``[bB]``-style class or an ``(a|b)`` group: those are spelled out and compiled as
one prefix tree, which reads a user agent once instead of once per pattern; the
few real regular expressions are joined after it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import product

from crawleruseragents import CRAWLER_USER_AGENTS_DATA

# One piece of a pattern that stands for a fixed set of strings: an escaped
# punctuation mark, a class of plain characters, a group of plain alternatives,
# or a plain character. Quantifiers, anchors, ranges and ``\d``-like escapes
# match none of these, so a pattern using them stays a regular expression.
_PLAIN = r"[^.^$*+?{}\[\]|()\\]"
_PIECE = re.compile(
    r"\\(?P<escaped>[^A-Za-z0-9])"
    r"|\[(?P<chars>[^\]\\^-]+)\]"
    rf"|\((?P<words>{_PLAIN}+(?:\|{_PLAIN}+)+)\)"
    rf"|(?P<char>{_PLAIN})"
)
_MAX_FORMS = 64  # past this a pattern is left to the regex engine
_NEVER = "(?!)"  # what an empty set of patterns compiles to

# What the list lacks, in its notation, matched against the lower-cased user
# agent: robots naming themselves (CUBOT is a phone maker), then HTTP clients
# and test runners.
UNLISTED = (
    r"(?<!cu)bot\b",
    r"bot/",
    r"crawl",
    r"spider",
    r"scrap",
    r"\+http://",
    r"\+https://",
    r"^java/",
    r"^undici",
    r"^node$",
    r"^deno/",
    r"^bun/",
    r"^dart/",
    r"^ruby$",
    r"postmanruntime/",
    r"insomnia/",
    r"cypress/",
    r"prerender",
    r"feedfetcher",
    r"quora link preview",
    r"page speed insights",
)


class Patterns:
    """Regular expressions in the crawler list's notation, asked "does any
    match?" quickly: plain ones as one prefix tree, those anchored at the start
    only at the start, the rest joined after the tree."""

    def __init__(self, patterns: list[str] | tuple[str, ...]):
        words: list[str] = []
        anywhere: list[str] = []
        at_start: list[str] = []
        for pattern in patterns:
            if pattern.startswith("^") and "|" not in pattern:
                at_start.append(pattern[1:])
            elif (forms := literal_forms(pattern)) is not None:
                words += forms
            else:
                anywhere.append(f"(?:{pattern})")
        if words:
            anywhere.insert(0, prefix_tree_pattern(words))
        self._anywhere = re.compile("|".join(anywhere) or _NEVER)
        self._at_start = re.compile("|".join(at_start) or _NEVER)

    def search(self, text: str) -> bool:
        """Whether any of the patterns matches somewhere in ``text``."""
        return bool(self._at_start.match(text) or self._anywhere.search(text))


def literal_forms(pattern: str) -> list[str] | None:
    """Every string ``pattern`` matches, when it is made only of plain
    characters, ``[aA]`` classes, ``(a|b)`` groups and top-level ``|``; None
    when it needs the regex engine (or would spell out too many strings)."""
    branches: list[str] = []
    current = [""]
    position = 0
    while position < len(pattern):
        if pattern[position] == "|":
            branches += current
            current, position = [""], position + 1
            continue
        piece = _PIECE.match(pattern, position)
        if piece is None:
            return None
        current = ["".join(pair) for pair in product(current, _options(piece))]
        if len(current) > _MAX_FORMS:
            return None
        position = piece.end()
    forms = branches + current
    return None if "" in forms else list(dict.fromkeys(forms))


def _options(piece: re.Match[str]) -> list[str]:
    if piece["chars"] is not None:
        return list(dict.fromkeys(piece["chars"]))
    if piece["words"] is not None:
        return piece["words"].split("|")
    return [piece["escaped"] or piece["char"]]


def prefix_tree_pattern(words: list[str]) -> str:
    """A regular expression matching where any of ``words`` starts, built as a
    prefix tree (``ab(?:c|d)`` rather than ``abc|abd``). A word that ends where
    another goes on is enough to match, so the longer one is dropped."""
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _render(tree)


def _render(node: dict) -> str:
    if "" in node:
        return ""
    branches = [re.escape(char) + _render(child) for char, child in node.items()]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


_LISTED = Patterns([crawler["pattern"] for crawler in CRAWLER_USER_AGENTS_DATA])
_UNLISTED = Patterns(UNLISTED)


@lru_cache(maxsize=4096)
def is_bot(user_agent: str | None) -> bool:
    """True for an empty user agent, one of the crawler list, or one the list
    lacks (``UNLISTED``). Memoised: a site's visitors share a few hundred
    user agents, and the search costs more than the rest of a beacon's checks
    (it is asked when a beacon arrives and again when it is stored)."""
    if not user_agent:
        return True
    return _LISTED.search(user_agent) or _UNLISTED.search(user_agent.lower())
