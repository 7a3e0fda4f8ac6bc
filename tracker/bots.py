"""Known bots, by user agent.

Owns: the decision "this beacon came from a bot". Bots are stored apart
(``bot_hits``) so they never inflate visitor counts, yet stay visible.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Substrings of user agents that are never a person reading: crawlers, link
# previews, uptime checks, HTTP libraries and headless or automated browsers.
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrap|headless|phantomjs|lighthouse|pingdom|"
    r"uptime|monitor|preview|facebookexternalhit|embedly|quora link|whatsapp|"
    r"curl/|wget/|httpie|python-requests|python-urllib|aiohttp|httpx|go-http-client|"
    r"java/|okhttp|axios|node-fetch|undici|libwww|selenium|puppeteer|playwright|"
    r"cypress|gtmetrix|pagespeed|prerender|apache-httpclient|feedfetcher|validator",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def is_bot(user_agent: str | None) -> bool:
    """True for an empty user agent or one matching the bot list. Memoised: a
    site's visitors share a few hundred user agents, and the search over the
    whole list costs more than the rest of a beacon's checks (it is asked when
    a beacon arrives and again when it is stored)."""
    return not user_agent or bool(_BOT.search(user_agent))
