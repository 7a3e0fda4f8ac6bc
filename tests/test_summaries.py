"""The summaries (attention by section and by depth, scroll reach, the content
page's totals, the content list with its medians, the acquisition selects, the
overview's page views) equal the raw events at every step of a visitor's life:
events stored over several days and devices, scroll and attention raised later,
an identify, stage changes, a merge, a site-wide recompute, an erasure and a
purge; for every segment and for periods with partial days, with changes waiting
for a refresh and refreshed. ``rebuild`` gives back exactly the rows the
refreshes kept, and running it twice changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dashboard.queries.acquisition import acquisition_options
from dashboard.queries.attention import attention_sections
from dashboard.queries.clicks import click_grid, click_placement, top_elements
from dashboard.queries.content_item import view_stats
from dashboard.queries.content_list import content_list
from dashboard.queries.depth import attention_by_depth
from dashboard.queries.scroll import scroll_reach
from dashboard.queries.segments import ContentFilter
from dashboard.queries.sites import site_summaries
from resonance.cli import cli
from resonance.core.models import (
    Click,
    Content,
    Lead,
    PageView,
    SectionTotal,
    Site,
    SummaryChange,
)
from tests.conftest import BROWSER_UA, ORIGIN
from tests.factories import attention, batch, click, identify, layout, pv, scroll
from tracker import crm, lifecycle, summaries
from tracker.grid_contributions import device_width, newest_snapshots
from tracker.ingest import RequestMeta, ingest
from tracker.snapshots import add_snapshot

META = RequestMeta(ip="203.0.113.9", user_agent=BROWSER_UA, origin=ORIGIN)
POST = "https://blog.example.com/post"
# Three whole UTC days before today; the checks also cut periods mid-day.
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - (
    timedelta(days=3)
)
OTHER_REF = "https://News.Example.com:8443/x?y=1"
SECTIONS = [[1, "A post", 0, 800], [2, "Why", 800, 1200], [2, "How", 2000, 1000]]
SEGMENTS = ["all", "leads", "sales", "stage:sql", "stage:lead"]
SEGMENTS += [f"not:{s}" for s in SEGMENTS[1:]]
GRID_SEGMENTS = ("all", "sales", "not:sales")


def _at(day: int, hour: float) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def _store(session, visitor: str, at: datetime, *events: dict) -> None:
    ms = int(at.timestamp() * 1000)
    stamped = [e | {"ts": ms - 4000 + n} for n, e in enumerate(events)]
    ingest(session, json.dumps(batch(*stamped, v=visitor)).encode(), META, at)
    session.commit()


def _read(
    session,
    visitor: str,
    at: datetime,
    deepest: int,
    width: int = 1440,
    **tags: str,
):
    """A page view with its layout, scroll, attention and clicks (a rage burst
    on #cta, one on #nav saying the visitor's name) (``tags``: its query string
    and referrer ``r``); its page view id."""
    query = tags.pop("query", "")
    view = pv(url=POST + query, ti="A post", vw=width, **tags)
    pid = view["p"]
    _store(
        session,
        visitor,
        at,
        view,
        layout(pid, SECTIONS),
        scroll(pid, deepest, 3000),
        attention(pid, 9000, [[0, 5000], [1, 4000]], b=[[0, 5000], [1, 4000]]),
        *(click(pid) for _ in range(3)),
        click(pid, s="#nav", tx=visitor, tg="button", x=40, y=20),
    )
    return pid


def _periods() -> list[tuple[datetime | None, datetime | None]]:
    naive = [_at(d, h).replace(tzinfo=None) for d, h in ((0, 0), (1, 6.5), (2, 0))]
    return [
        (None, None),
        (naive[0], None),
        (naive[1], None),
        (None, naive[1]),
        (naive[1], naive[2]),
        (naive[0], naive[2]),
        (naive[1], naive[1] + timedelta(hours=3)),
    ]


def _assert_summaries_match_raw(session) -> None:
    """Summaries and raw events agree with the changes still marked (those days
    read raw), and again once every marked day is refreshed."""
    _compare_every_filter(session)
    assert session.scalar(select(func.count()).select_from(SummaryChange))
    summaries.refresh(session, date.max)
    session.commit()
    assert not session.scalar(select(func.count()).select_from(SummaryChange))
    _compare_every_filter(session)


def _compare_every_filter(session) -> None:
    content_id = session.scalar(select(Content.id).where(Content.url == POST))
    checked = clicked = 0
    for segment in SEGMENTS:
        for since, until in _periods():
            for device in (None, "mobile"):
                flt = ContentFilter(
                    "blog", since=since, until=until, device=device, segment=segment
                )
                summarised = attention_sections(session, flt, content_id)
                raw = attention_sections(session, flt, content_id, raw=True)
                assert summarised == raw, (segment, since, until, device)
                reach = scroll_reach(session, flt, content_id)
                assert reach == scroll_reach(session, flt, content_id, raw=True)
                depth = attention_by_depth(session, flt, content_id)
                assert depth == attention_by_depth(session, flt, content_id, raw=True)
                stats = view_stats(session, flt, content_id)
                assert stats == view_stats(session, flt, content_id, raw=True)
                options = acquisition_options(session, flt)
                assert options == acquisition_options(session, flt, raw=True)
                if device is None:  # clicks are summarised per device like the rest
                    clicked += _compare_clicks(session, flt, content_id)
                if segment in GRID_SEGMENTS:  # cohorts read as above; slow
                    grid = _grid(session, flt, content_id)
                    assert grid == _grid(session, flt, content_id, raw=True)
                listed = content_list(session, flt)
                assert listed == content_list(session, flt, raw=True)
                assert [r.views for r in listed] == (
                    [stats.views] if stats.views else []
                )
                checked += bool(raw) and bool(reach.views)
    assert checked and clicked  # not every comparison was of nothing
    overview = site_summaries(session)
    assert overview == site_summaries(session, raw=True)
    for site in overview:
        counted = (site.pageviews, site.visitors, site.clicks)
        assert counted == _site_counts(session, site.key)


def _compare_clicks(session, flt: ContentFilter, content_id: int) -> int:
    """The clicks' figures from summaries equal the raw clicks; the elements."""
    placed = click_placement(session, flt, content_id)
    assert placed == click_placement(session, flt, content_id, raw=True)
    elements = top_elements(session, flt, content_id, limit=None)
    assert elements == top_elements(session, flt, content_id, limit=None, raw=True)
    return len(elements)


def _grid(session, flt: ContentFilter, content_id: int, raw: bool = False) -> list:
    """The heatmap's squares as the content page draws them: at the device's
    width, on the newest snapshot there."""
    width = device_width(flt.device)
    newest = newest_snapshots(width)
    snapshot = session.scalar(
        select(newest.c.id).where(newest.c.content_id == content_id, newest.c.rank == 1)
    )
    return click_grid(session, flt, content_id, width, snapshot, raw=raw)


def _snapshot(session, width: int, cta: tuple[int, int, int, int]) -> None:
    """A snapshot of the post at ``width`` with #cta's box at ``cta``."""
    content_id = session.scalar(select(Content.id).where(Content.url == POST))
    boxes = {"#cta": (*cta, "Book a demo"), "#nav": (0, 0, 200, 40, "")}
    add_snapshot(session, content_id, (width, 3000), _at(0, 0), "x.png", boxes)
    session.commit()


def _site_counts(session, site_key: str) -> tuple[int, int, int]:
    """A site's page views and distinct visitors, counted on the page views,
    and its clicks, counted on the clicks."""
    site = select(Site.id).where(Site.key == site_key).scalar_subquery()
    views = select(func.count(), func.count(func.distinct(PageView.visitor_id)))
    clicks = select(func.count()).where(Click.site_id == site)
    return (
        *session.execute(views.where(PageView.site_id == site)).one(),
        session.scalar(clicks),
    )


def _rows(session) -> list[tuple]:
    """The non-empty summary rows, comparable across runs."""
    rows = []
    for summary in summaries.SUMMARIES:
        t = summary.model.__table__
        rows += [
            (t.name, *row)
            for row in session.execute(select(t).where(t.c[summary.figures[0]] > 0))
        ]
    return sorted(rows)


def _lead(session, email: str) -> Lead:
    return session.scalar(select(Lead).where(Lead.email == email))


def test_summaries_equal_the_raw_events_through_a_visitors_life(session, site):
    # Day 0: three anonymous readers, one on a phone; an old view raised later.
    ann_first = _read(session, "visitor-ann", _at(0, 9), 900)
    _read(session, "visitor-bob", _at(0, 10), 1900, width=390, r="")
    campaign = "?utm_source=news&utm_campaign=launch"
    _read(session, "visitor-cy", _at(0, 23.5), 3000, query=campaign, r=OTHER_REF)
    # A bounce: a page view and nothing else still counts in scroll reach.
    _store(session, "visitor-dan", _at(0, 11), pv(url=POST, ti="A post"))
    _assert_summaries_match_raw(session)
    # Snapshots: the grid's clicks on #cta are placed on its box there.
    _snapshot(session, 1440, (100, 400, 300, 60))
    _snapshot(session, 375, (10, 300, 200, 50))
    _assert_summaries_match_raw(session)

    # Day 1: Ann comes back, and her first view's scroll and attention rise
    # (the snippet's cumulative figures of a tab left open).
    _store(
        session,
        "visitor-ann",
        _at(1, 6),
        scroll(ann_first, 2500, 3000),
        attention(
            ann_first,
            20000,
            [[0, 6000], [1, 9000], [2, 5000]],
            b=[[0, 6000], [1, 9000], [25, 5000]],
        ),
        click(ann_first, s="#late", tx="Later"),
    )
    ann_second = _read(session, "visitor-ann", _at(1, 8), 1500)
    _assert_summaries_match_raw(session)
    # A new snapshot moves #cta: every day's clicks are placed on it.
    _snapshot(session, 1440, (700, 900, 120, 40))
    _assert_summaries_match_raw(session)

    # Ann identifies: her page views move to the leads.
    _store(session, "visitor-ann", _at(1, 9), identify(ann_second, "ann@acme.com"))
    _read(session, "visitor-bob", _at(1, 12), 2600, width=390)
    _store(session, "visitor-bob", _at(1, 12.5), identify(ann_second, "bob@acme.com"))
    _assert_summaries_match_raw(session)

    # Stages: Ann reaches sales, Bob is a lead.
    for email, stage, event in (
        ("ann@acme.com", "SQL", "e1"),
        ("bob@acme.com", "Lead", "e2"),
    ):
        crm.record_stage_change(
            session,
            site.id,
            _lead(session, email).id,
            stage_raw=stage,
            entered_at=_at(1, 14),
            crm_event_id=event,
            now=_at(1, 14),
        )
    session.commit()
    _assert_summaries_match_raw(session)

    # The CRM merges Bob into Ann; then the whole site is recomputed.
    crm.merge_leads(
        session,
        site.id,
        _lead(session, "bob@acme.com").id,
        _lead(session, "ann@acme.com").id,
        now=_at(2, 1),
    )
    crm.recompute_stages(session, site.id)
    session.commit()
    _read(session, "visitor-cy", _at(2, 3), 1200)
    _assert_summaries_match_raw(session)

    # What the refreshes kept is what a rebuild computes, and a rebuild is
    # idempotent.
    kept = _rows(session)
    summaries.rebuild(session)
    session.commit()
    assert _rows(session) == kept
    summaries.rebuild(session)
    session.commit()
    assert _rows(session) == kept

    # Erasing Ann (Bob's browser is hers now) leaves only Cy in the figures.
    lifecycle.erase(session, email="ann@acme.com", actor="test", now=_at(2, 4))
    session.commit()
    _assert_summaries_match_raw(session)
    assert {
        row.stage for row in session.scalars(select(SectionTotal)) if row.views
    } == {""}


def test_a_purge_keeps_the_summaries_of_the_days_it_deletes(session, site):
    _read(session, "visitor-ann", _at(0, 9), 2500)
    _read(session, "visitor-bob", _at(2, 9), 900)
    content_id = session.scalar(select(Content.id).where(Content.url == POST))
    everything = ContentFilter("blog")
    before = attention_sections(session, everything, content_id)
    summaries.refresh(session, _at(2, 0).date())  # day 0 refreshed, day 2 marked
    session.commit()

    lifecycle.purge(session, "2d", now=_at(3, 12).replace(tzinfo=None))
    session.commit()

    # Day 0's raw events are gone; its summaries are not.
    raw = attention_sections(session, everything, content_id, raw=True)
    assert [r.views for r in raw] == [1, 1, 0]  # Bob's view only
    assert [r.views for r in before] == [2, 2, 1]
    assert attention_sections(session, everything, content_id) == before
    reach = scroll_reach(session, everything, content_id)
    assert [b.views for b in reach.bands[:10]] == [2] * 10  # both, to 900 px
    # Days whose raw events are kept still equal them, and a rebuild leaves the
    # purged days alone.
    _assert_summaries_match_raw_since(session, content_id, _at(1, 0))
    summaries.refresh(session, date.max)
    session.commit()
    _assert_summaries_match_raw_since(session, content_id, _at(1, 0))
    kept = _rows(session)
    summaries.rebuild(session)
    session.commit()
    assert _rows(session) == kept


def _assert_summaries_match_raw_since(session, content_id, since) -> None:
    for segment in SEGMENTS:
        flt = ContentFilter("blog", since=since.replace(tzinfo=None), segment=segment)
        assert attention_sections(session, flt, content_id) == attention_sections(
            session, flt, content_id, raw=True
        )
        assert scroll_reach(session, flt, content_id) == scroll_reach(
            session, flt, content_id, raw=True
        )
        assert top_elements(session, flt, content_id) == top_elements(
            session, flt, content_id, raw=True
        )


@pytest.mark.parametrize("segment", ["all", "not:sales"])
def test_filters_summaries_cannot_answer_read_the_raw_events(session, site, segment):
    _read(session, "visitor-ann", _at(0, 9), 2500)
    content_id = session.scalar(select(Content.id).where(Content.url == POST))
    for summary in summaries.SUMMARIES:  # summaries wiped
        session.execute(summary.model.__table__.delete())
    session.commit()
    for flt in (
        ContentFilter("blog", segment=segment, exclude_internal=True),
        ContentFilter("blog", segment=segment, referrer="www.google.com"),
    ):
        [first, *_] = attention_sections(session, flt, content_id)
        assert first.views == 1
        assert scroll_reach(session, flt, content_id).bands[0].views == 1


def test_rebuild_summaries_command_refills_summaries_lost_or_loaded_around(
    app, session, site
):
    _read(session, "visitor-ann", _at(0, 9), 2500)
    _read(session, "visitor-bob", _at(1, 9), 1200, width=390)
    summaries.refresh(session, date.max)
    kept = _rows(session)
    for summary in summaries.SUMMARIES:  # as after a bulk copy
        session.execute(summary.model.__table__.delete())
    session.commit()

    result = app.test_cli_runner().invoke(cli, ["rebuild-summaries"])

    assert result.exit_code == 0, result.output
    assert result.output == f"rebuilt {len(kept)} summary rows\n"
    assert _rows(session) == kept


def test_the_collector_marks_changed_days_and_a_refresh_leaves_today_marked(
    session, site
):
    first = _read(session, "visitor-ann", _at(0, 9), 900)
    _store(session, "visitor-ann", _at(3, 1), scroll(first, 2500, 3000))
    today = _at(3, 0).date()
    marked = {(mark.day) for mark in session.scalars(select(SummaryChange))}
    assert marked == {_at(0, 0).date()}  # the raised view is of day 0
    _read(session, "visitor-bob", _at(3, 2), 900)

    assert summaries.refresh(session, today) == 1
    session.commit()

    assert {m.day for m in session.scalars(select(SummaryChange))} == {today}
    assert session.scalar(select(func.count()).select_from(SectionTotal)) == 3


def test_the_background_pass_refreshes_every_past_day_in_chunks(app, session, site):
    for day in range(3):
        _read(session, f"visitor-{day}", _at(day, 9), 1500)
    makes_sessions = app.extensions["resonance.sessionmaker"]

    assert summaries.refresh_past(makes_sessions, _at(2, 0).date()) == 2

    assert {m.day for m in session.scalars(select(SummaryChange))} == {_at(2, 0).date()}
    refreshed = _rows(session)
    summaries.rebuild(session)
    assert [r for r in _rows(session) if r[2] < _at(2, 0).date()] == refreshed
