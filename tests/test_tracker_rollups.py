"""Daily per-content figures: equal to the raw queries for the same days,
idempotent, and keeping long-term totals exact through ``resonance purge``; the
anonymous-hash salt rotates daily and yesterday's is deleted."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import count, post_batch
from factories import attention, batch, click, pv, scroll
from sqlalchemy import func, select

from dashboard.queries.content_list import content_list
from dashboard.queries.segments import ContentFilter
from dashboard.queries.sites import site_summaries
from resonance.cli import cli
from resonance.core.models import (
    Click,
    Content,
    ContentDaily,
    DailySalt,
    PageSection,
    PageView,
    RollupState,
    Visitor,
    VisitSession,
)
from tracker import rollups, sites
from tracker.identity import forget_salts, visitor_uid
from tracker.lifecycle import cutoff_day, parse_window, purge
from tracker.rollups import FIGURES, content_totals, midnight

WIDTHS = {"mobile": 375, "desktop": 1440}
DOC_H, FOLD = 3000, 800


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _reading_time(day: date) -> datetime:
    """9:00 on ``day``, or today halfway through the day so far: an event later
    than the collector's clock is refused (a test run before 9:00 UTC did)."""
    start = midnight(day) + timedelta(hours=9)
    now = datetime.now(UTC).replace(tzinfo=None)
    return min(start, midnight(day) + (now - midnight(day)) / 2)


def _traffic(
    client, days: list[date], who: str = "reader"
) -> dict[tuple[str, date, str], dict]:
    """Varied reading on pages a and b, on mobile and desktop, over ``days``,
    through the collector; what each (page, day, device) must add up to."""
    rng = random.Random(7)
    expected: dict = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    readers: dict = defaultdict(set)
    for d, day in enumerate(days):
        start = _reading_time(day)
        for n in range(8):
            visitor, page = f"{who}{n % 5:06d}", "ab"[n % 2]
            device = "mobile" if n % 3 == 0 else "desktop"
            at = _ms(start + timedelta(seconds=n))
            pid, depth, active = (
                f"pv{who}{d:04d}x{n:04d}",
                rng.choice([0, 1500, 2250, 3000]),
                rng.randrange(0, 90_000),
            )
            events = [
                pv(
                    pid,
                    url=f"https://blog.example.com/{page}",
                    ts=at,
                    vw=WIDTHS[device],
                    vh=FOLD,
                    dh=DOC_H,
                ),
                scroll(pid, depth, DOC_H, ts=at + 10),
                attention(pid, active, [[0, active]], ts=at + 20),
            ]
            kinds = rng.choice([[], [False], [True, False], [False, False, True]])
            events += [
                click(pid, ts=at + 30, dd=dead, er=not dead and k == 2)
                for k, dead in enumerate(kinds)
            ]
            assert post_batch(client, batch(*events, v=visitor)).status_code == 204
            row, pct = expected[(page, day, device)], 100 * max(depth, FOLD) / DOC_H
            readers[(page, day, device)].add(visitor)
            row["views"] += 1
            row["visitors"] = len(readers[(page, day, device)])
            row["active_ms"] += active
            for step in rollups.REACH_STEPS:
                row[f"reached_{step}"] += pct >= step
            row["clicks"] += len(kinds)
            row["dead_clicks"] += sum(kinds)
            row["error_clicks"] += sum(
                not dead and k == 2 for k, dead in enumerate(kinds)
            )
    return dict(expected)


def _rollup_rows(session) -> dict[tuple[str, date, str], dict]:
    session.expire_all()
    rows = session.execute(
        select(Content.url, ContentDaily).join(
            Content, Content.id == ContentDaily.content_id
        )
    )
    return {
        (url.rsplit("/", 1)[1], daily.day, daily.device): {
            name: getattr(daily, name) for name in FIGURES
        }
        for url, daily in rows
    }


def _totals(session, site_id, **window) -> dict[str, dict[str, int]]:
    session.expire_all()
    urls = dict(session.execute(select(Content.id, Content.url)).all())
    return {
        urls[t.content_id].rsplit("/", 1)[1]: {
            k: v for k, v in vars(t).items() if k != "content_id"
        }
        for t in content_totals(session, site_id, **window)
    }


def _sum(expected, keep=lambda key: True) -> dict[str, dict[str, int]]:
    totals: dict = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for (page, day, device), row in expected.items():
        if keep((page, day, device)):
            for name in FIGURES:
                totals[page][name] += row[name]
    return {
        page: {("visitor_days" if k == "visitors" else k): v for k, v in row.items()}
        for page, row in totals.items()
    }


def test_daily_rollup_equals_the_raw_figures_of_the_same_days(client, session, site):
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    expected = _traffic(client, days)

    rollups.refresh(session, today)
    session.commit()

    assert _rollup_rows(session) == expected
    # The dashboard's own raw query agrees, day by day and device by device.
    for (page, day, device), row in expected.items():
        flt = ContentFilter(
            "blog",
            since=midnight(day),
            until=midnight(day + timedelta(days=1)),
            device=device,
        )
        listed = {r.url.rsplit("/", 1)[1]: r for r in content_list(session, flt)}
        assert (listed[page].views, listed[page].visitors) == (
            row["views"],
            row["visitors"],
        )
        assert (
            round(listed[page].read_through_pct * row["views"] / 100)
            == row["reached_75"]
        )


def test_refresh_twice_does_not_double_and_picks_up_late_updates(client, session, site):
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    expected = _traffic(client, [yesterday])

    rollups.refresh(session, today)
    rollups.refresh(session, today)
    session.commit()
    assert _rollup_rows(session) == expected

    # Attention of a page view of yesterday keeps arriving after midnight.
    pid = "pvreader0000x0000"  # reader 0 on page a, on a phone
    earlier = session.scalar(select(PageView.active_ms).where(PageView.event_id == pid))
    late = attention(pid, 600_000, [[0, 600_000]], ts=_ms(midnight(yesterday)) + 1)
    assert post_batch(client, batch(late, v="reader000000")).status_code == 204
    rollups.refresh(session, today)
    session.commit()

    row = _rollup_rows(session)[("a", yesterday, "mobile")]
    before = expected[("a", yesterday, "mobile")]
    assert row == before | {"active_ms": before["active_ms"] - earlier + 600_000}
    assert count(session, ContentDaily) == len(expected)


def test_purge_keeps_long_term_totals_exact_and_deletes_old_raw_events(
    runner, client, session, site
):
    today = datetime.now(UTC).date()
    old_days = [today - timedelta(days=n) for n in (520, 419)]
    recent_days = [today - timedelta(days=n) for n in (30, 1)] + [today]
    expected = _traffic(client, old_days + recent_days)
    before = _totals(session, site.id)
    assert before == _sum(expected)

    result = runner.invoke(cli, ["purge", "--older-than", "13m"])

    assert result.exit_code == 0, result.output
    keep_from = midnight(cutoff_day(datetime.now(UTC), "13m"))
    session.expire_all()
    assert session.scalar(select(func.min(PageView.viewed_at))) >= keep_from
    assert count(session, PageView) == sum(
        row["views"] for (_, day, _), row in expected.items() if day not in old_days
    )
    orphans = (
        select(func.count())
        .select_from(Click)
        .where(~Click.pageview_id.in_(select(PageView.id)))
    )
    assert session.scalar(orphans) == 0
    assert (
        session.scalar(
            select(func.count())
            .select_from(PageSection)
            .where(~PageSection.pageview_id.in_(select(PageView.id)))
        )
        == 0
    )
    assert _totals(session, site.id) == before
    old_window = {"since": old_days[0], "until": old_days[1] + timedelta(days=1)}
    assert _totals(session, site.id, **old_window) == _sum(
        expected, lambda key: key[1] in old_days
    )
    assert _totals(session, site.id, device="mobile") == _sum(
        expected, lambda key: key[2] == "mobile"
    )

    # Running it again, or a plain rollup, changes no figure.
    rows = count(session, ContentDaily)
    assert runner.invoke(cli, ["purge", "--older-than", "13m"]).exit_code == 0
    assert runner.invoke(cli, ["rollup"]).exit_code == 0
    assert _totals(session, site.id) == before
    assert count(session, ContentDaily) == rows
    state = session.get(RollupState, site.id)
    assert (state.rolled_until, state.purged_before) == (today, keep_from.date())


def test_purge_deletes_visits_and_browsers_with_nothing_left(
    runner, client, session, site
):
    today = datetime.now(UTC).date()
    _traffic(client, [today - timedelta(days=800)], who="gone")
    _traffic(client, [today - timedelta(days=800), today], who="back")
    assert (count(session, Visitor), count(session, VisitSession)) == (10, 15)

    # Two days later: browsers whose events are all gone have been quiet a while.
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2)
    deleted = purge(session, "2y", later)
    session.commit()

    assert deleted["visitors"] == 5

    session.expire_all()
    assert sorted(session.scalars(select(Visitor.uid))) == [
        f"c:back{n:06d}" for n in range(5)
    ]
    assert count(session, VisitSession) == 5
    assert count(session, PageView) == 8
    # The browsers left start from their earliest page view left, today's:
    # the overview counts them from it as from their page views (its page views
    # and clicks keep the purged days, from the summaries).
    earliest = (
        select(func.min(PageView.viewed_at))
        .where(PageView.visitor_id == Visitor.id)
        .scalar_subquery()
    )
    firsts = session.execute(select(Visitor.first_view_at, earliest)).all()
    assert all(first == left and left.date() == today for first, left in firsts)
    counted = [site_summaries(session, raw=raw)[0].visitors for raw in (False, True)]
    assert counted == [5, 5]


@pytest.mark.parametrize(
    ("window", "now", "cutoff"),
    [
        ("13m", datetime(2026, 3, 31, 15), date(2025, 2, 28)),
        ("1y", datetime(2024, 2, 29, 1), date(2023, 2, 28)),
        ("8w", datetime(2026, 11, 23), date(2026, 9, 28)),
        ("400d", datetime(2026, 11, 23), date(2025, 10, 19)),
    ],
)
def test_retention_windows_are_calendar_days_weeks_months_and_years(
    window, now, cutoff
):
    assert cutoff_day(now, window) == cutoff


@pytest.mark.parametrize("window", ["", "13", "13h", "0d", "-1m", "1.5y", "m13"])
def test_bad_retention_window_is_a_usage_error(runner, window):
    with pytest.raises(ValueError):
        parse_window(window)
    result = runner.invoke(cli, ["purge", "--older-than", window])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.fixture
def anonymous_site(session, site):
    site.privacy_mode = "anonymous"
    session.commit()
    sites.forget()
    return sites.lookup(session, "blog")


def _uid(session, site, now) -> str:
    uid = visitor_uid(
        session,
        site,
        "visitor0001",
        ip="203.0.113.9",
        user_agent="Firefox",
        privacy_signal=False,
        now=now,
    )
    session.commit()
    return uid


def test_salt_rotates_daily_and_yesterdays_is_deleted(session, anonymous_site):
    yesterday, today = datetime(2026, 11, 22, 23, 59), datetime(2026, 11, 23, 0, 1)
    first = _uid(session, anonymous_site, yesterday)
    assert _uid(session, anonymous_site, yesterday) == first
    forget_salts()  # another worker, or this one after midnight

    second = _uid(session, anonymous_site, today)

    assert first.startswith("h:") and second.startswith("h:")
    assert second != first
    session.expire_all()
    assert session.scalars(select(DailySalt.day)).all() == [today.date()]


def test_purge_deletes_salts_of_days_without_traffic(runner, session, site):
    session.add(DailySalt(day=date(2026, 1, 1), salt="ab" * 32))
    session.commit()

    assert runner.invoke(cli, ["purge", "--older-than", "13m"]).exit_code == 0

    assert count(session, DailySalt) == 0
