"""Summaries kept as events are stored, so that dashboards do not scan events.

Owns the only writes to the summary tables (``resonance.core.models.summaries``:
attention by section, scroll reach, attention by depth, page-view totals and
their spread, per content item, UTC day, device and cohort). What a set of page
views contributes to each is defined once, in ``tracker.contributions``.

How they stay exact. Every figure in a summary row is a count, a sum or an extreme
over page views. Whatever changes what a page view contributes marks its content item's
UTC day in ``summary_changes`` (:func:`changed`), in the transaction of the
change: the collector's groups (new page views, sections, raised scroll depth),
a visitor changing cohort (identified, its lead's stage or reached-sales moment
recomputed, leads merged) and erasure. The dashboard reads a marked day from the
raw events; :func:`refresh` recomputes marked past days from the raw events and
deletes their marks, in a transaction of its own. Requests never rewrite a
summary row, so concurrent writers never wait on one another for them. Purge
refreshes the days it deletes first, then leaves their summaries: days before
the retention window keep the cohorts their visitors had then.

:func:`rebuild` recomputes every row from the raw events (days not purged), for
an upgrade, after a bulk load, or to check: it is idempotent.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from resonance.core import dialect
from resonance.core.dialect import insert as upsert
from resonance.core.engine import write_turn
from resonance.core.models import (
    IdentityLink,
    Lead,
    PageView,
    RollupState,
    SummaryChange,
)
from tracker.contributions import KEYS, SUMMARIES, Summary, cohort_views
from tracker.rollups import midnight


def _contributions(summary: Summary, *where: ColumnElement[bool]):
    return summary.contributions(cohort_views(*where), KEYS).subquery("c")


def _adding(session: Session, summary: Summary, *where: ColumnElement[bool]):
    """The upsert adding the contributions of the page views matching ``where``."""
    c = _contributions(summary, *where)
    t = summary.model.__table__
    stmt = upsert(session, summary.model).from_select(
        [*KEYS, *summary.about, *summary.figures], select(c).where(literal(True))
    )
    return stmt.on_conflict_do_update(
        index_elements=list(t.primary_key.columns),
        set_={f: _merged(f, t.c[f], stmt.excluded[f]) for f in summary.figures},
    )


def _merged(figure: str, old, new):
    """A figure of a summary row with more page views added (see
    ``tracker.contributions.combined``)."""
    if figure.endswith("_min"):
        return case((new < old, new), else_=old)
    if figure.endswith("_max"):
        return case((new > old, new), else_=old)
    return old + new


def add(
    session: Session, *where: ColumnElement[bool], only: type | None = None
) -> None:
    """Add the contributions of the page views matching ``where`` (to the
    summary table ``only``, or to all)."""
    for summary in SUMMARIES:
        if only is None or summary.model is only:
            session.execute(_adding(session, summary, *where))


def changed(session: Session, *where: ColumnElement[bool]) -> None:
    """Mark the content-days of the page views matching ``where`` as changed
    (before they are deleted, for an erasure)."""
    session.execute(_marking(*where))


def _marking(*where: ColumnElement[bool]):
    day = func.date(PageView.viewed_at)
    days = select(PageView.content_id, day).where(*where).distinct()
    return insert(SummaryChange).from_select(["content_id", "day"], days)


# The collector's mark, as SQL text for its raw statements (tracker.ingest):
# SQLAlchemy's compiling of a statement costs more than running it.
VIEW_IDS = "__resonance_view_ids__"
# The page views of a group, filled in by the collector with its own bound marks.
_OF_GROUP = f"pageviews.id IN ({VIEW_IDS})"
REFRESH_LOCK = 0x5245_534D  # pg_advisory_xact_lock key of refresh: "RESM"
_MARKING: dict[str, str] = {}


def marking_sql(session: Session, view_ids: str) -> str:
    """The statement marking the content-days of the page views
    ``pageviews.id <view_ids>`` (the collector's bound ``IN (…)`` or
    ``= ANY(…)``): SQL text for this session's dialect, compiled once."""
    dialect = session.get_bind().dialect
    if dialect.name not in _MARKING:
        stmt = _marking(text(_OF_GROUP))
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        _MARKING[dialect.name] = str(compiled)
    return _MARKING[dialect.name].replace(f"IN ({VIEW_IDS})", view_ids)


def refresh(session: Session, before: date, limit: int | None = 200) -> int:
    """Recompute the summaries of up to ``limit`` marked content-days before
    ``before`` (today's stay marked: the dashboard reads today raw anyway) from
    the raw events; the content-days refreshed. Does not commit.

    The marks of those days are read before the recompute and exactly those
    are deleted: a mark committed later stays for the next refresh. A busy day
    has a mark per group that changed it; they all go in one recompute.
    """
    _one_at_a_time(session)
    c = SummaryChange
    pairs = session.execute(
        select(c.content_id, c.day)
        .where(c.day < before)
        .group_by(c.content_id, c.day)
        .order_by(func.min(c.id))
        .limit(limit)
    ).all()
    if not pairs:
        return 0
    marks = session.scalars(
        select(c.id).where(tuple_(c.content_id, c.day).in_(pairs))
    ).all()
    since = _raw_since(session)
    kept = sorted((cid, day) for cid, day in pairs if since is None or day >= since)
    for summary in SUMMARIES if kept else ():
        t = summary.model
        session.execute(
            delete(t)
            .where(tuple_(t.content_id, t.day).in_(kept))
            .execution_options(synchronize_session=False)
        )
    if kept:
        add(session, or_(*(_of_day(content_id, day) for content_id, day in kept)))
    session.execute(
        delete(c).where(c.id.in_(marks)).execution_options(synchronize_session=False)
    )
    return len(pairs)


def _one_at_a_time(session: Session) -> None:
    """One refresh or rebuild at a time (PostgreSQL; SQLite has one writer):
    two would each add the same content-day back."""
    if dialect.name(session) == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))


def refresh_past(sessionmaker: Callable[[], Session], today: date) -> int:
    """Refresh every marked day before ``today``, a chunk per transaction (the
    background thread of the workers calls it); the content-days refreshed."""
    done = 0
    while True:
        # On SQLite, in turn with the collector's writers (one writer at a time).
        with sessionmaker() as session, write_turn(session):
            count = refresh(session, today)
            session.commit()
        done += count
        if not count:
            return done


def _of_day(content_id: int, day: date) -> ColumnElement[bool]:
    return and_(
        PageView.content_id == content_id,
        PageView.viewed_at >= midnight(day),
        PageView.viewed_at < midnight(day + timedelta(days=1)),
    )


def of_visitors(visitor_ids) -> ColumnElement[bool]:
    """The page views of these visitors (ids or a select of ids)."""
    return PageView.visitor_id.in_(visitor_ids)


def of_leads(lead_ids: list[int] | None, site_id: int) -> ColumnElement[bool]:
    """The page views of the visitors linked to these leads of a site (None:
    to any of its leads)."""
    linked = select(IdentityLink.visitor_id).join(Lead, Lead.id == IdentityLink.lead_id)
    linked = linked.where(
        Lead.id.in_(lead_ids) if lead_ids is not None else Lead.site_id == site_id
    )
    return of_visitors(linked)


def fill(session: Session, model: type) -> None:
    """Fill a new, empty summary table from the raw events (its migration)."""
    add(session, only=model)


def rebuild(session: Session) -> int:
    """Recompute every summary row of days whose raw events are kept (days
    before a purge stay as they were); the rows kept for those days. Does not
    commit."""
    _one_at_a_time(session)
    since = _raw_since(session)
    for summary in SUMMARIES:
        days = [summary.model.day >= since] if since else []
        session.execute(
            delete(summary.model)
            .where(*days)
            .execution_options(synchronize_session=False)
        )
    session.execute(delete(SummaryChange).execution_options(synchronize_session=False))
    add(session, *([PageView.viewed_at >= midnight(since)] if since else []))
    return sum(
        session.scalar(
            select(func.count())
            .select_from(summary.model)
            .where(*([summary.model.day >= since] if since else []))
        )
        for summary in SUMMARIES
    )


def _raw_since(session: Session) -> date | None:
    """The first day whose raw events are all kept (None: nothing purged)."""
    return session.scalar(select(func.max(RollupState.purged_before)))
