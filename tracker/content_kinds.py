"""Content kinds: whether a page is reading content or a conversion page.

Owns the rules that tell them apart. A conversion page (contact, demo request,
trial or sign-up, thank-you) is where a reader acts, not what persuades them:
ranked with articles it tops suggested reads (a prospect who just filled in the
form is offered the form) and takes the last-touch credit of every lead who
used it. So the dashboard leaves these pages out of suggested reads and
influence credit unless asked.

Two sources decide automatically (``kind_source = 'auto'``): the URL, when an
item is first stored (:func:`kind_of_url`), and the crawl, from what the page
holds (:func:`looks_like_form_page`). A kind set by hand (``'hand'``) is never
changed by either. Pure: no database, no Flask.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from resonance.core.models import CONTENT, CONVERSION

# Path segments (compared without case, and with ``_`` read as ``-``) that name
# a conversion page; a segment may end in ``.html``/``.htm``/``.php``. A bare
# ``demo`` is not one: it is as often a product tour or video (reading), and the
# demo site of Resonance itself lives under ``/demo/``. A ``/demo`` page that is
# a request form is found by the crawl (:func:`looks_like_form_page`).
CONVERSION_SEGMENTS = frozenset(
    (
        "contact",
        "contact-us",
        "contact-sales",
        "talk-to-sales",
        "request-demo",
        "demo-request",
        "request-a-demo",
        "book-demo",
        "book-a-demo",
        "get-a-demo",
        "schedule-a-demo",
        "thank-you",
        "thankyou",
        "thanks",
        "signup",
        "sign-up",
        "register",
        "trial",
        "free-trial",
        "start-trial",
        "get-started",
        "subscribe",
    )
)
_SUFFIX = re.compile(r"\.(html?|php|aspx?)\Z")
# A form page: at most this many words outside its forms.
FORM_PAGE_WORDS = 150
# Input types that ask for a way to reach the reader back.
CONTACT_INPUTS = ("email", "tel")


def _segments(url: str) -> list[str]:
    path = unquote(urlsplit(url).path)
    return [
        _SUFFIX.sub("", segment.lower().replace("_", "-"))
        for segment in path.split("/")
        if segment
    ]


def kind_of_url(url: str) -> str:
    """``conversion`` when a segment of the URL's path names a conversion page
    (``/book-a-demo``, ``/thank-you``, ``/en/contact-us.html``), else
    ``content``. Query strings and hosts are not read: ``?ref=demo`` is an
    article's link, not its kind."""
    if any(s in CONVERSION_SEGMENTS for s in _segments(url)):
        return CONVERSION
    return CONTENT


def looks_like_form_page(
    has_contact_form: bool, words_outside_forms: int, limit: int = FORM_PAGE_WORDS
) -> bool:
    """A page that is mostly a form asking for an e-mail or phone number: a
    ``<form>`` with such an input, and few words (at most ``limit``) outside it.
    A long article with a newsletter box stays content."""
    return has_contact_form and words_outside_forms <= limit


def contact_forms(root) -> list:
    """The outermost ``<form>`` elements under a parsed page (a BeautifulSoup
    tag) that ask for an e-mail address or a phone number."""
    forms = [
        form
        for form in root.find_all("form")
        if form.find_parent("form") is None
        and any(
            (field.get("type") or "").lower() in CONTACT_INPUTS
            or (field.get("name") or "").lower() in ("email", "phone")
            for field in form.find_all("input")
        )
    ]
    return forms


def is_form_page(root, total_words: int, count_words) -> bool:
    """Whether a parsed page's content (``root``, holding ``total_words`` words
    as ``count_words`` counts them) is mostly a contact form."""
    forms = contact_forms(root)
    in_forms = sum(count_words(form.get_text()) for form in forms)
    return looks_like_form_page(bool(forms), total_words - in_forms)


def crawled_kind(url: str, form_page: bool) -> str:
    """The kind a crawl gives a page it read: a conversion page by its URL or
    by being mostly a form, else reading content."""
    return CONVERSION if form_page or kind_of_url(url) == CONVERSION else CONTENT


# Path segments (read as for conversion pages) of pages whose reading signals
# buying intent: prices, plans, proof from customers, comparisons. A segment
# like ``resonance-vs-hotjar`` or ``vs-hotjar`` is a comparison too.
HIGH_INTENT_SEGMENTS = frozenset(
    (
        "pricing",
        "prices",
        "price",
        "plans",
        "plans-and-pricing",
        "pricing-plans",
        "case-studies",
        "case-study",
        "customers",
        "customer-stories",
        "success-stories",
        "compare",
        "comparison",
        "alternatives",
        "vs",
    )
)


def is_high_intent_url(url: str) -> bool:
    """Whether a segment of the URL's path names a high-intent page
    (``/pricing``, ``/case-studies/redwing``, ``/compare/resonance-vs-hotjar``);
    the alerts' ``high_intent`` rule fires on reading one."""
    return any(
        s in HIGH_INTENT_SEGMENTS or s.startswith("vs-") or "-vs-" in s
        for s in _segments(url)
    )
