"""What the summaries save the dashboard: attention by section, scroll reach,
attention by depth, the totals and the top clicked elements (with their rage,
dead and error clicks and their texts) of the busiest content item, the content
list and the acquisition selects of its site, and the overview's counts, read
through the summaries
(whole days) and, as the baseline in the same run, from the raw events only,
warm, median of N, wall and this process's CPU (on PostgreSQL the server's CPU
is not in it).

    python bench/summaries_read.py sqlite:////tmp/scale/1m.db --runs 5
    python bench/summaries_read.py postgresql+psycopg://postgres@127.0.0.1/rs_scale_1m

The database is upgraded first (the migration fills the summaries) and every
marked day refreshed, as the workers' background pass would have.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.queries.acquisition import acquisition_options  # noqa: E402
from dashboard.queries.attention import attention_sections  # noqa: E402
from dashboard.queries.clicks import top_elements  # noqa: E402
from dashboard.queries.content_item import view_stats  # noqa: E402
from dashboard.queries.content_list import content_list  # noqa: E402
from dashboard.queries.depth import attention_by_depth  # noqa: E402
from dashboard.queries.scroll import scroll_reach  # noqa: E402
from dashboard.queries.segments import ContentFilter  # noqa: E402
from dashboard.queries.sites import site_summaries  # noqa: E402
from resonance.core.engine import make_engine, upgrade  # noqa: E402
from resonance.core.models import PageView, Site  # noqa: E402
from tracker import summaries  # noqa: E402
from tracker.rollups import midnight  # noqa: E402

FIGURES = {
    "attention_sections": attention_sections,
    "scroll_reach": scroll_reach,
    "attention_by_depth": attention_by_depth,
    "view_stats": view_stats,
    "top_elements": top_elements,
}
# Figures of the whole site: called with the session and the filter only.
SITE_FIGURES = {
    "content_list": content_list,
    "acquisition_options": acquisition_options,
    "site_summaries": lambda session, flt, raw=False: site_summaries(
        session, [flt.site_key], raw
    ),
}


def _timed(call, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``call`` after one warm-up call."""
    call()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def _busiest(session: Session) -> tuple[str, int, date]:
    """The site key, content id and last day of the most viewed content item."""
    content_id, site_id, _ = session.execute(
        select(PageView.content_id, PageView.site_id, func.count().label("n"))
        .group_by(PageView.content_id, PageView.site_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    key = session.scalar(select(Site.key).where(Site.id == site_id))
    last = session.scalar(
        select(func.max(PageView.viewed_at)).where(PageView.content_id == content_id)
    )
    return key, content_id, last.date()


def _reader(session: Session, name: str, figure, flt: ContentFilter, content_id: int):
    """``figure`` bound to its arguments, taking ``raw`` still."""
    if name in SITE_FIGURES:
        return partial(figure, session, flt)
    # Scroll reach is given the page's totals, as the page does.
    extra = (view_stats(session, flt, content_id),) if name == "scroll_reach" else ()
    return partial(figure, session, flt, content_id, *extra)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    upgrade(args.url)
    engine = make_engine(args.url)
    with Session(engine) as session:
        started = time.perf_counter()
        refreshed = summaries.refresh(session, date.max, limit=None)
        session.commit()
        print(f"refreshed {refreshed} marked content-days in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        key, content_id, last = _busiest(session)
        month = midnight(last - timedelta(days=29)), midnight(last + timedelta(1))
        filters = {
            "all time, all": ContentFilter(key),
            "all time, reached sales": ContentFilter(key, segment="sales"),
            "30 days, all": ContentFilter(key, since=month[0], until=month[1]),
        }
        print(f"content {content_id} of site {key}; ms, median of {args.runs}")
        print("figure | filter | raw wall | raw CPU | summaries wall | "
              "summaries CPU | wall ratio")  # fmt: skip
        for name, figure in (*FIGURES.items(), *SITE_FIGURES.items()):
            for label, flt in filters.items():
                if name == "site_summaries" and label != "all time, all":
                    continue  # the overview has no filters
                read = _reader(session, name, figure, flt, content_id)
                raw = _timed(partial(read, raw=True), args.runs)
                kept = _timed(read, args.runs)
                assert read() == read(raw=True)
                ratio = raw[0] / kept[0]
                print(f"{name} | {label} | {raw[0]:.1f} | {raw[1]:.1f} | "
                      f"{kept[0]:.1f} | {kept[1]:.1f} | {ratio:.1f}×")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
