"""Nothing sensitive is stored: payment card numbers (Luhn-valid runs of 13 to 19
digits, with or without spaces or dashes) and e-mail addresses become
placeholders in click texts, hrefs, titles, page URLs and referrers, whatever a
page sends; and a stored URL is cut to 2,000 characters on a whole character.
"""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import select

from resonance.core.models import Click, Content, PageView, VisitSession
from tests.conftest import post_batch
from tests.factories import batch, click, pv

CARD_CLICK = "Pay with 4111 1111 1111 1111"
CARD_LINK = "https://blog.example.com/card/4242424242424242/confirm"
CARD_UTM = "https://blog.example.com/pay?utm_content=5555-5555-5555-4444"


def _stored_text(session) -> str:
    """Every text the page view and its clicks left, in one string."""
    session.expire_all()
    view = session.scalars(select(PageView)).one()
    content = session.get(Content, view.content_id)
    visit = session.get(VisitSession, view.session_id)
    clicks = session.scalars(select(Click)).all()
    texts = [view.url, view.title, view.referrer, view.utm_content, content.url]
    texts += [content.title, visit.landing_url, visit.referrer]
    texts += [value for c in clicks for value in (c.text, c.href)]
    return " ".join(str(text) for text in texts)


def test_card_numbers_in_clicks_and_urls_are_stored_as_a_placeholder(
    client, session, site
):
    view = pv(
        url=CARD_UTM,
        ti="Receipt 4111-1111-1111-1111 for ann@example.com",
        r="https://shop.example.com/card/5555 5555 5555 4444/done",
    )
    button = click(view["id"], tg="button", tx=CARD_CLICK, h=None)
    link = click(view["id"], tx="Confirm", h=CARD_LINK)

    assert post_batch(client, batch(view, button, link)).status_code == 204

    session.expire_all()
    stored = session.scalars(select(PageView)).one()
    assert stored.url == "https://blog.example.com/pay?utm_content=%5Bcard%5D"
    assert stored.utm_content == "[card]"
    assert stored.title == "Receipt [card] for [email]"
    assert stored.referrer == "https://shop.example.com/card/[card]/done"
    texts = dict(session.execute(select(Click.event_id, Click.text)).all())
    assert texts[button["id"]] == "Pay with [card]"
    hrefs = dict(session.execute(select(Click.event_id, Click.href)).all())
    assert hrefs[link["id"]] == "https://blog.example.com/card/[card]/confirm"
    everything = _stored_text(session)
    for digits in ("4111", "4242", "5555", "ann@"):
        assert digits not in everything


def test_addresses_in_click_texts_and_titles_are_stored_as_a_placeholder(
    client, session, site
):
    view = pv(ti="Welcome back, jane.doe@corp.example")
    mail = click(view["id"], tx="Write to jane.doe@corp.example", h=None)

    assert post_batch(client, batch(view, mail)).status_code == 204

    everything = _stored_text(session)
    assert "jane.doe" not in everything
    assert "Write to [email]" in everything and "Welcome back, [email]" in everything


def test_a_long_url_is_stored_cut_on_a_whole_character(client, session, site):
    """1,200 characters that each take six once escaped: far over the column's
    2,000, which PostgreSQL enforces (SQLite would keep it all)."""
    url = "https://blog.example.com/" + "é" * 1200
    view = pv(url=url)
    link = click(view["id"], h=url)

    assert post_batch(client, batch(view, link)).status_code == 204

    session.expire_all()
    stored = session.scalars(select(PageView.url)).one()
    href = session.scalars(select(Click.href)).one()
    for kept in (stored, href):
        assert 1994 <= len(kept) <= 2000
        assert unquote(kept, errors="strict").endswith("é")
