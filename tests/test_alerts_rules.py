"""Alert rules fire when page views are stored: a known lead back after days
away at or past a stage, a high-intent page read, a second person of an
account; once per lead, rule and day; never for visitors not linked to a lead;
in the transaction of the events, with the owner's e-mail and the webhook in
the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from resonance.core.models import (
    Account,
    Alert,
    AlertDelivery,
    AlertRule,
    Content,
    Lead,
    Site,
    User,
)
from tests.conftest import BROWSER_UA, ORIGIN, count
from tests.factories import NOW_MS, batch, identify, pv
from tracker import alerts, content_kinds
from tracker.ingest import RequestMeta, ingest

META = RequestMeta(ip="203.0.113.9", user_agent=BROWSER_UA, origin=ORIGIN)
T0 = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(seconds=10)
BLOG = "https://blog.example.com"


def store(session, *events, v="visitor0001", now=T0) -> None:
    ingest(session, json.dumps(batch(*events, v=v)).encode(), META, now)
    session.commit()


def view(url: str, at: datetime) -> dict:
    title = url.rstrip("/").rpartition("/")[2].capitalize()
    return pv(url=url, ts=int(at.timestamp() * 1000) - 5000, ti=title)


def known_lead(
    session, email="ann.lee@gmail.com", v="visitor0001", at=T0, nm="Ann Lee", **set_
):
    """A visitor who identified on a blog post at ``at`` (a free-mail address
    groups no account unless the test sets one); the lead."""
    first = view(f"{BLOG}/posts/hello", at)
    store(session, first, identify(first["id"], email, nm=nm), v=v, now=at)
    lead = session.scalar(select(Lead).where(Lead.email == email))
    if set_:
        session.execute(update(Lead).where(Lead.id == lead.id).values(**set_))
        session.commit()
    return lead


def fired(session) -> list[tuple[str, int, str]]:
    session.expire_all()
    return session.execute(
        select(AlertRule.kind, Alert.lead_id, Alert.summary)
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .order_by(Alert.id)
    ).all()


def test_high_intent_urls_are_decided_by_their_path_segments() -> None:
    assert content_kinds.is_high_intent_url("https://x.example/pricing")
    assert content_kinds.is_high_intent_url("https://x.example/en/Case_Studies/acme")
    assert content_kinds.is_high_intent_url("https://x.example/compare/us-vs-them")
    assert content_kinds.is_high_intent_url("https://x.example/plans.html")
    assert not content_kinds.is_high_intent_url("https://x.example/blog/pricing-tips")
    assert not content_kinds.is_high_intent_url("https://x.example/?ref=pricing")


def test_a_new_content_item_is_high_intent_by_its_url(session, site) -> None:
    store(session, view(f"{BLOG}/pricing", T0), view(f"{BLOG}/posts/a", T0))
    rows = dict(session.execute(select(Content.url, Content.high_intent)).all())
    assert rows == {f"{BLOG}/pricing": True, f"{BLOG}/posts/a": False}


def test_every_site_gets_the_three_default_rules_on_first_use(session, site) -> None:
    rules = alerts.ensure_rules(session, site.id, T0.replace(tzinfo=None))
    session.commit()
    assert [(r.kind, r.enabled, r.stage, r.days_away) for r in rules] == [
        ("returning", True, "sql", 14),
        ("high_intent", True, None, None),
        ("second_person", True, None, None),
    ]
    again = alerts.ensure_rules(session, site.id, T0.replace(tzinfo=None))
    assert [r.id for r in again] == [r.id for r in rules]


def test_reading_the_pricing_page_alerts_the_owner_once_a_day(session, site) -> None:
    lead = known_lead(session, owner="sam@vendor.example")
    store(session, view(f"{BLOG}/pricing", T0))
    store(session, view(f"{BLOG}/pricing", T0))  # again: same day
    assert fired(session) == [
        ("high_intent", lead.id, "Ann Lee read Pricing (high intent)")
    ]
    deliveries = session.execute(
        select(AlertDelivery.channel, AlertDelivery.target, AlertDelivery.state)
    ).all()
    assert deliveries == [("email", "sam@vendor.example", "pending")]
    next_day = T0 + timedelta(days=1)
    store(session, view(f"{BLOG}/pricing", next_day), now=next_day)
    assert [k for k, _, _ in fired(session)] == ["high_intent", "high_intent"]


def test_an_owner_named_by_username_gets_the_users_email_and_the_webhook_a_post(
    session, site, make_user
) -> None:
    user = make_user("sales", sites=["blog"])
    session.execute(
        update(User).where(User.id == user.id).values(email="sam@vendor.example")
    )
    session.execute(
        update(Site)
        .where(Site.id == site.id)
        .values(webhook_url="http://127.0.0.1:9/hook")
    )
    session.commit()
    known_lead(session, owner=user.username)
    store(session, view(f"{BLOG}/pricing", T0))
    deliveries = session.execute(
        select(AlertDelivery.channel, AlertDelivery.target).order_by(AlertDelivery.id)
    ).all()
    assert deliveries == [
        ("email", "sam@vendor.example"),
        ("webhook", "http://127.0.0.1:9/hook"),
    ]


def test_a_lead_at_sales_stage_back_after_14_days_fires_returning(
    session, site
) -> None:
    lead = known_lead(session, stage="sql", owner="sam@vendor.example")
    later = T0 + timedelta(days=13, hours=23)
    store(session, view(f"{BLOG}/posts/b", later), now=later)
    assert fired(session) == []  # 13 days 23 hours away: not yet
    back = later + timedelta(days=14)
    store(session, view(f"{BLOG}/posts/c", back), now=back)
    assert fired(session) == [
        ("returning", lead.id, "Ann Lee is back after 14 days: read C")
    ]


def test_a_lead_before_the_rules_stage_does_not_fire_returning(session, site) -> None:
    known_lead(session, stage="mql")
    back = T0 + timedelta(days=30)
    store(session, view(f"{BLOG}/posts/b", back), now=back)
    assert fired(session) == []


def test_a_second_person_of_an_account_fires_once_they_are_new(session, site) -> None:
    account = Account(
        site_id=site.id,
        key="domain:redwing.example",
        name="Redwing",
        domain="redwing.example",
        created_at=T0.replace(tzinfo=None),
    )
    session.add(account)
    session.commit()
    known_lead(session, "ann@redwing.example", account_id=account.id)
    next_day = T0 + timedelta(days=1)
    # Bob's identify groups him into Redwing (tracker.accounts, by domain);
    # the account is set here too so that this test reads alerts alone.
    bob = known_lead(
        session, "bob@redwing.example", v="visitor0002", at=next_day, nm="Bob Stone"
    )
    session.execute(update(Lead).where(Lead.id == bob.id).values(account_id=account.id))
    session.commit()
    store(session, view(f"{BLOG}/posts/d", next_day), v="visitor0002", now=next_day)
    [(kind, lead_id, summary)] = fired(session)
    assert (kind, lead_id) == ("second_person", bob.id)
    assert summary in (
        "Bob Stone is a second person from Redwing: read Hello",  # on identify
        "Bob Stone is a second person from Redwing: read D",
    )
    later = next_day + timedelta(days=1)
    store(session, view(f"{BLOG}/posts/e", later), v="visitor0002", now=later)
    assert len(fired(session)) == 1  # seen before today: no longer new


def test_visitors_not_linked_to_a_lead_fire_nothing(session, site) -> None:
    store(session, view(f"{BLOG}/pricing", T0), v="visitor0009")
    assert count(session, Alert) == 0
    assert count(session, AlertRule) == 0  # not even looked at


def test_a_disabled_rule_does_not_fire(session, site) -> None:
    known_lead(session)
    session.execute(
        update(AlertRule).where(AlertRule.site_id == site.id).values(enabled=False)
    )
    session.commit()
    store(session, view(f"{BLOG}/pricing", T0))
    assert fired(session) == []
