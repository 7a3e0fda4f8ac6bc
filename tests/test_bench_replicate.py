"""bench/replicate.py's copies equal what ingest stored for the originals: every
table copied or left with a reason, each copied table K times as large, and
every visitor's and lead's rows the same once the copy's suffix is read away."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Integer, cast, create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

from bench.generate import NOW, generate
from bench.replicate import COPIED, NOT_COPIED, replicate
from resonance.core.models import (
    Alert,
    AlertDelivery,
    AlertRule,
    AttentionBand,
    Base,
    BotHit,
    Click,
    Identify,
    IdentityConflict,
    IdentityLink,
    Lead,
    PageSection,
    PageView,
    StageChange,
    Visitor,
    VisitSession,
)

TIMES = 3
SUFFIX = re.compile(r"~r(\d+)")


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_every_table_of_the_models_is_copied_or_left_with_a_reason():
    copied = {name for name, _, _ in COPIED}

    assert copied.isdisjoint(NOT_COPIED)
    assert copied <= set(Base.metadata.tables)
    assert set(Base.metadata.tables) <= copied | set(NOT_COPIED)


def _table_counts(session: Session) -> dict[str, int]:
    """Rows of every table the database has (the models may be ahead of it)."""
    names = inspect(session.get_bind()).get_table_names()
    assert set(names) <= {name for name, _, _ in COPIED} | set(NOT_COPIED)
    return {
        name: session.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names
    }


def _as_int(condition):
    return func.sum(cast(condition, Integer))


# What each visitor's rows add up to: (label, query grouped by visitor uid).
def _visitor_queries():
    by_uid = Visitor.uid
    views = (
        select(by_uid)
        .join(PageView, PageView.visitor_id == Visitor.id)
        .group_by(by_uid)
    )
    return {
        "sessions": select(
            by_uid,
            func.count(),
            func.sum(VisitSession.pageviews),
            func.min(VisitSession.started_at),
            func.max(VisitSession.last_seen_at),
        )
        .join(VisitSession, VisitSession.visitor_id == Visitor.id)
        .group_by(by_uid),
        "pageviews": views.add_columns(
            func.count(),
            func.count(func.distinct(PageView.content_id)),
            func.sum(PageView.active_ms),
            func.sum(PageView.max_scroll_px),
            func.min(PageView.viewed_at),
            func.max(PageView.viewed_at),
        ),
        "clicks": views.join(Click, Click.pageview_id == PageView.id).add_columns(
            func.count(),
            func.sum(Click.x + Click.y),
            _as_int(Click.dead),
            _as_int(Click.error),
            func.count(func.distinct(Click.content_id)),
        ),
        "sections": views.join(
            PageSection, PageSection.pageview_id == PageView.id
        ).add_columns(
            func.count(), func.sum(PageSection.active_ms), func.sum(PageSection.top_px)
        ),
        "attention": views.join(
            AttentionBand, AttentionBand.pageview_id == PageView.id
        ).add_columns(func.count(), func.sum(AttentionBand.ms)),
        "identifies": select(by_uid, func.count(), func.min(Identify.email))
        .join(Identify, Identify.visitor_id == Visitor.id)
        .group_by(by_uid),
        "lead": select(
            by_uid,
            Lead.email,
            Lead.crm_id,
            Lead.account_id,
            Lead.stage,
            Lead.reached_sales_at,
            Lead.merged_into_id.is_(None),
        )
        .join(IdentityLink, IdentityLink.visitor_id == Visitor.id)
        .join(Lead, Lead.id == IdentityLink.lead_id),
        "stages": select(
            by_uid,
            func.count(),
            func.min(StageChange.entered_at),
            func.max(StageChange.crm_event_id),
        )
        .join(IdentityLink, IdentityLink.visitor_id == Visitor.id)
        .join(StageChange, StageChange.lead_id == IdentityLink.lead_id)
        .group_by(by_uid),
        "alerts": select(by_uid, func.count(), func.min(Alert.day), Alert.account_id)
        .join(IdentityLink, IdentityLink.visitor_id == Visitor.id)
        .join(Alert, Alert.lead_id == IdentityLink.lead_id)
        .join(AlertDelivery, AlertDelivery.alert_id == Alert.id)
        .group_by(by_uid, Alert.account_id),
        "conflicts": select(by_uid, func.count())
        .join(IdentityConflict, IdentityConflict.visitor_id == Visitor.id)
        .group_by(by_uid),
    }


def _per_copy(session: Session) -> dict[int, dict[str, dict[str, tuple]]]:
    """Every visitor's aggregates, by copy (0: the originals) and original uid,
    with the copy's suffixes read away."""
    copies: dict[int, dict[str, dict[str, tuple]]] = defaultdict(dict)
    for label, query in _visitor_queries().items():
        for uid, *values in session.execute(query):
            found = SUFFIX.search(uid)
            copy = int(found.group(1)) if found else 0
            plain = [SUFFIX.sub("", v) if isinstance(v, str) else v for v in values]
            copies[copy].setdefault(SUFFIX.sub("", uid), {})[label] = tuple(plain)
    return copies


def _an_alert_and_a_bot_hit(session: Session) -> None:
    """What the generator does not write (its clock fires no alert), so that the
    copy of alerts, their deliveries and bot hits is proved too."""
    lead = session.scalars(select(Lead).order_by(Lead.id)).first()
    rule = session.scalars(
        select(AlertRule).where(AlertRule.site_id == lead.site_id)
    ).first()
    alert = Alert(
        site_id=lead.site_id,
        rule_id=rule.id,
        lead_id=lead.id,
        account_id=lead.account_id,
        day=NOW.date(),
        fired_at=NOW,
        owner="dana@example.com",
        summary="came back",
        details={},
    )
    session.add(alert)
    session.flush()
    session.add(
        AlertDelivery(
            alert_id=alert.id,
            channel="email",
            target="dana@example.com",
            next_attempt_at=NOW,
            created_at=NOW,
        )
    )
    session.add(
        BotHit(
            site_id=lead.site_id,
            seen_at=NOW - timedelta(hours=1),
            user_agent="Googlebot",
            url=None,
        )
    )
    session.commit()


def test_replicated_tables_equal_the_originals_per_table_and_per_visitor(
    database_url,
):
    generate(database_url, 4_000, seed=1, log=lambda _line: None)
    with _session(database_url) as session:
        _an_alert_and_a_bot_hit(session)
        before = _table_counts(session)
        originals = _per_copy(session)[0]

    replicate(database_url, TIMES, log=lambda _line: None)

    copied = {name for name, _, _ in COPIED}
    with _session(database_url) as session:
        after = _table_counts(session)
        copies = _per_copy(session)
    for name, rows in before.items():
        assert after[name] == (TIMES * rows if name in copied else rows), name
    assert all(before[name] > 0 for name in copied), "every copied table is tested"
    assert set(copies) == set(range(TIMES))
    labels = {label for visitor in originals.values() for label in visitor}
    assert labels == set(_visitor_queries())
    for copy in range(1, TIMES):
        assert copies[copy] == originals, f"copy {copy}"
