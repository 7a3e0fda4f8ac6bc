"""Ingest: the one module that writes events.

Owns: storing validated beacons in the event tables (``pageviews``, ``clicks``,
``page_sections``, ``attention_bands``, ``identifies``, ``bot_hits``,
``visit_sessions``), with the
visitors and content items they need. Other modules may build rows and
statements (``tracker.ingest_plan``, ``event_rows``, ``visits``, ``contents``);
only this one runs the writes, so there is one place to read to know what a
beacon changes. Everything happens in the caller's transaction, so a refused
batch stores nothing; the caller commits before answering 2xx. Events are judged
one by one: a refused event (see :class:`tracker.beacon.Refusal`) is left out and
the rest of its batch stored.

Idempotency, because browsers and our own retry queue re-send: a page view whose
client event id is stored is not stored again (one stored by another process
between the look-up and the insert fails the transaction, and the writer retries
each batch alone), clicks and identify calls are inserted ``ON CONFLICT DO
NOTHING`` on their event id, scroll and attention (per section, per band) only
ever raise a stored maximum.

Set-based, because the collector's cost is the number of statements, not the
rows: :func:`ingest_many` plans a whole group (a group commit, see
``tracker.writer``) in Python, then writes it in about ten statements whatever
its size, in two pipelines (two round trips on PostgreSQL), each row set sorted
by key so that two processes lock rows in the same order.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.dialect import RawSql, insert
from resonance.core.models import Identify
from tracker import alerts, contents, event_rows, summaries, visits
from tracker.beacon import BeaconError, IdentifyEvent, Parsed, parse
from tracker.bots import is_bot
from tracker.crm import upsert_lead
from tracker.event_rows import device_class
from tracker.identity import link_visitor, record_rotation
from tracker.ingest_plan import (
    Checked,
    Outcome,
    PartlyStored,
    Plan,
    RequestMeta,
    UnknownPageView,
    outcome,
    refuse_all,
    screen_pages,
    site_for,
    uid_for,
)


def ingest(
    session: Session, body: bytes, meta: RequestMeta, now: datetime | None = None
) -> int:
    """Validate and store one beacon body; return the number of events stored
    (its refused events left out).

    Raises :class:`BeaconError` with the 4xx to answer when none could be
    stored. Does not commit.
    """
    [result] = ingest_many(session, [(body, meta, now or datetime.now(UTC))])
    if isinstance(result, BeaconError):
        raise result
    return result.events if isinstance(result, PartlyStored) else result


def ingest_many(
    session: Session,
    items: Sequence[tuple[bytes | Parsed, RequestMeta, datetime]],
    *,
    commit: bool = False,
) -> list[Outcome | BeaconError]:
    """Validate and store several beacon bodies, in order, in one transaction.

    A body may come parsed already (:func:`tracker.beacon.parse` with the same
    ``now``): the collector validates in the request's thread, so that the
    writer's serial work is only the database's.

    Returns, per body, the number of events stored, a :class:`PartlyStored`
    when some of its events were refused (the others stored), or the
    :class:`BeaconError` that refused it whole (it stores nothing). Database
    errors propagate; the caller then rolls back. With ``commit`` the
    transaction may be committed along with the last writes (saving a round
    trip); the caller still calls ``session.commit()``, which then has nothing
    left to do.
    """
    plan = Plan(session)
    checked: list[Checked | Outcome | BeaconError] = []
    for body, meta, now in items:
        try:
            parsed = body if isinstance(body, Parsed) else parse(body, now)
            checked.append(plan.check(parsed, meta, naive_utc(now)))
        except BeaconError as exc:
            checked.append(exc)
    plan.look_up_views([c for c in checked if isinstance(c, Checked)])
    results: list[Outcome | BeaconError] = []
    for item in checked:
        if isinstance(item, Checked):
            try:
                item = plan.add(item)
            except BeaconError as exc:
                item = exc
        results.append(item)
    _write(plan, commit)
    return results


def admit(
    session: Session, parsed: Parsed, meta: RequestMeta, now: datetime
) -> tuple[RequestMeta, Outcome]:
    """Check a beacon as far as it can be without the stored page views, for the
    inbox: its site, origin and page views. Returns the request facts to keep with
    it (the visitor uid instead of the IP) and what to answer: the events it
    holds, with the refusals known already. Raises :class:`BeaconError` when the
    site refuses it or none of its events can be stored."""
    batch = parsed.batch
    site = site_for(session, batch, meta)
    uid = ""  # a bot's beacon is recorded apart: no visitor
    answer = outcome(len(batch.e), parsed.refused)
    if not is_bot(meta.user_agent):
        kept, refused = screen_pages(parsed)
        if not kept:
            raise refuse_all([*parsed.refused, *refused])
        answer = outcome(len(kept), [*parsed.refused, *refused])
        uid = uid_for(session, site, batch, meta, naive_utc(now))
    kept_meta = RequestMeta(
        ip="", user_agent=meta.user_agent, origin=meta.origin, uid=uid
    )
    return kept_meta, answer


# --- the write: a handful of set-based statements ---------------------------------


def _write(plan: Plan, commit: bool = False) -> None:
    """Store a plan (nothing when every batch was refused).

    Two pipelines (one network round trip each on PostgreSQL): first the
    visitors and content items with their ids, the visitors' latest visits and
    ids reserved for the new visits and page views (and which of the visitors
    are linked to a lead); then, once the sessions are replayed in memory, every
    other row. ``commit`` ends the transaction inside the second pipeline when
    nothing else is pending: no identify call, no page view that may fire an
    alert (alerts are written in the same transaction, ``tracker.alerts``).
    """
    if not plan.accepted and not plan.bots:
        return
    sql = RawSql(plan.session)
    new_views = sorted(
        (v for v in plan.views.values() if v.row is not None),
        key=lambda v: (v.site_id, v.event_id),
    )
    stored_visits = sorted({v.session_id for v in plan.views.values() if v.row is None})
    with sql.pipeline():
        visitor_ids = sql.insert(
            "visitors",
            visits.VISITOR_COLUMNS,
            visits.visitor_rows(plan.visitors),
            visits.VISITOR_UPSERT,
        )
        content_ids = contents.upsert(sql, plan.contents)
        latest = visits.query_visits(
            sql, {a.visitor for a in plan.accepted if a.new_views}, stored_visits
        )
        visit_ids = sql.reserve_ids("visit_sessions", len(new_views))
        view_ids = sql.reserve_ids("pageviews", len(new_views))
        linked = alerts.query_linked(
            sql, (a.visitor for a in plan.accepted if a.new_views and not a.anonymous)
        )
    visitor_id = {(site_id, uid): id_ for id_, site_id, uid in visitor_ids.rows()}
    content_id = {(site_id, key): id_ for id_, site_id, key in content_ids.rows()}
    plan.replay_sessions(sql, visitor_id, latest.rows())
    new_visits = [v for v in plan.visits if v.id is None]
    for visit, id_ in zip(new_visits, visit_ids.ids(), strict=False):
        visit.id = id_
    for view, id_ in zip(new_views, view_ids.ids(), strict=False):
        view.id = id_
        view.content_id = content_id[view.content_key]
        view.session_id = view.visit.id
    may_fire = _may_fire(plan, linked)
    ends = (
        commit
        and not plan.session.new
        and not may_fire
        and not any(a.identifies for a in plan.accepted)
    )
    with sql.pipeline():
        _write_rows(sql, plan, new_visits, new_views)
        _mark_summaries(sql, plan)
        if ends:
            sql.commit()
    _write_identifies(plan, visitor_id)
    if may_fire:
        # The group's time: its visitors were all last seen at their batch's now.
        now = max(row["last_seen_at"] for row in plan.visitors.values())
        alerts.fire(plan.session, may_fire, now)


def _mark_summaries(sql: RawSql, plan: Plan) -> None:
    """Mark the content-days whose summaries the group changes: of its new page
    views, those it gives clicks, sections, attention or bands, and those whose
    scroll depth it raises (``tracker.summaries``)."""
    ids = {v.id for v in plan.views.values() if v.row is not None or v.raised}
    ids.update(view.id for _, view, _ in plan.clicks.values())
    ids.update(view.id for view, _ in plan.sections)
    ids.update(view.id for view, _ in plan.bands)
    if ids:
        marks, values = sql.among(sorted(ids))
        sql.query(summaries.marking_sql(plan.session, marks), values)


def _may_fire(plan: Plan, linked) -> list[int]:
    """The new page views that may fire alerts: those of visitors linked to a
    lead, or identified in this group (linked by ``_write_identifies``)."""
    if linked is None:
        return []
    keys = {tuple(row) for row in linked.rows()}
    keys |= {a.visitor for a in plan.accepted if a.identifies}
    return [
        view.id
        for a in plan.accepted
        if a.visitor in keys
        for view, _, _ in a.new_views
    ]


def _write_rows(sql: RawSql, plan: Plan, new_visits: list, new_views: list) -> None:
    """Every row of the plan but visitors, content items and identify calls."""
    biggest = sql.greatest
    sql.insert("visit_sessions", visits.VISIT_COLUMNS, visits.visit_rows(new_visits))
    sql.update(
        "visit_sessions",
        visits.RAISE_COLUMNS,
        visits.raised_visits(plan.visits),
        visits.raise_sets(biggest),
    )
    # A page view stored meanwhile by another process fails the transaction (its
    # clicks would point at the reserved id): the writer then stores each batch
    # alone, which finds it.
    sql.insert("pageviews", event_rows.VIEW_COLUMNS, event_rows.view_rows(new_views))
    sql.insert(
        "clicks",
        event_rows.CLICK_COLUMNS,
        event_rows.click_rows(plan.clicks),
        event_rows.CLICK_INSERT,
    )
    sql.insert(
        "page_sections",
        event_rows.SECTION_COLUMNS,
        event_rows.section_rows(plan.sections),
        event_rows.section_upsert(biggest),
    )
    sql.insert(
        "attention_bands",
        event_rows.BAND_COLUMNS,
        event_rows.band_rows(plan.bands),
        event_rows.band_upsert(biggest),
    )
    sql.update(
        "pageviews",
        event_rows.RAISE_COLUMNS,
        event_rows.raised_views(list(plan.views.values())),
        event_rows.raise_sets(biggest),
    )
    sql.insert("bot_hits", event_rows.BOT_COLUMNS, plan.bots)


def _write_identifies(plan: Plan, visitor_ids: dict) -> None:
    for accepted in plan.accepted:
        visitor_id = visitor_ids[accepted.visitor]
        for event, view, at in accepted.identifies:
            lead_id = put_identify(
                plan.session, accepted.site_id, visitor_id, view.id, event, at
            )
            if lead_id and accepted.rotated_from:
                record_rotation(
                    plan.session,
                    accepted.site_id,
                    f"c:{accepted.rotated_from}",
                    lead_id,
                    at,
                )


def put_identify(
    session: Session,
    site_id: int,
    visitor_id: int,
    pageview_id: int,
    event: IdentifyEvent,
    at: datetime,
) -> int | None:
    """Record the identify call once, link the visitor to the lead and give the
    lead the name and company the form sent if it has none; the lead's id, or
    None for a replayed call."""
    new = session.execute(
        insert(session, Identify)
        .values(
            site_id=site_id,
            event_id=event.id,
            visitor_id=visitor_id,
            pageview_id=pageview_id,
            email=event.em,
            identified_at=at,
        )
        .on_conflict_do_nothing()
        .returning(Identify.id)
    ).first()
    if new is None:
        return None  # a replay: already linked (or already recorded as a conflict)
    # A lead merged by the CRM resolves to the survivor. The form's name and
    # company fill the lead's blanks only: the CRM's own names win.
    lead_id = upsert_lead(
        session,
        site_id,
        email=event.em,
        name=event.nm or None,
        company=event.co or None,
        now=at,
        overwrite=False,
    ).lead.id
    link_visitor(session, site_id, visitor_id, lead_id, source="snippet", now=at)
    return lead_id


__all__ = [
    "BeaconError",
    "PartlyStored",
    "RequestMeta",
    "UnknownPageView",
    "admit",
    "device_class",
    "ingest",
    "ingest_many",
]
