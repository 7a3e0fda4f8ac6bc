"""bench/dashboard.py times every dashboard page on a small generated database of
either store, pointed at the worst cases, with wall and CPU per page."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bench.dashboard import main
from bench.generate import generate
from resonance.core.models import PageView

# What the issue asks to be measured, as the report names the pages.
EXPECTED = (
    "`/dash/`",
    "`…/content`",
    "`…/content?group=1`",
    "`…/content/{content}`",
    "`…/content/{content}?segment=leads`",
    "`…/content/{content}?segment=sales`",
    "`…/content/{content}?segment=sales&compare=not:sales`",
    "`…/prospects`",
    "`…/prospects/{lead}`",
    "`…/influence`",
    "`…/accounts`",
    "`…/accounts/{account}`",
    "`…/alerts`",
    "`/dash/digest/preview`",
)


def _busiest_content(url: str) -> int:
    engine = create_engine(url)
    with Session(engine) as session:
        busiest = session.scalar(
            select(PageView.content_id)
            .group_by(PageView.content_id)
            .order_by(func.count().desc(), PageView.content_id)
            .limit(1)
        )
    engine.dispose()
    return busiest


def test_dashboard_benchmark_times_every_page_at_its_worst_case(database_url):
    # One site: the one measured, so that its leads are there however few.
    generate(database_url, 1_500, seed=4, site_count=1, log=lambda _line: None)
    store = "postgresql" if database_url.startswith("postgresql") else "sqlite"

    report = main(["--db", f"{store}:tiny={database_url}", "--runs", "1"])

    lines = report.splitlines()
    assert lines[0] == f"## {store} (ms, median of 1, warm)"
    columns = ["tiny wall", "tiny CPU"] + ["tiny server"] * (store == "postgresql")
    assert lines[1] == "| " + " | ".join(["page", *columns]) + " |"
    rows = {
        line.split(" | ")[0].removeprefix("| "): line.rstrip(" |").split(" | ")[1:]
        for line in lines[3:]
        if line.startswith("| `")
    }
    lead = next(n for n in rows if "/prospects/" in n and ".csv" not in n)
    account = next(n for n in rows if "/accounts/" in n and ".csv" not in n)
    ids = {
        "content": _busiest_content(database_url),
        "lead": lead.split("/prospects/")[1].rstrip("`"),
        "account": account.split("/accounts/")[1].rstrip("`"),
    }
    assert [n for n in rows if "segment=stage:" in n]
    for page in EXPECTED:
        assert page.format(**ids) in rows
    for cells in rows.values():
        assert float(cells[0]) > 0 and float(cells[1]) > 0
