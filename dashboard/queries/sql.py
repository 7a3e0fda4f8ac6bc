"""Portable SQL building blocks of the dashboard's queries: the median, time
arithmetic and the period bounds, written once for SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, case, cast, extract, func, select
from sqlalchemy.orm import Session

from resonance.core import dialect


def ranked(rows, column: str, key: str):
    """``rows`` (a subquery) with each row's rank by ``column`` within its
    ``key`` (``rn``) and its key's number of rows (``n``): what ``median``
    takes the middle rows from."""
    return select(
        rows,
        func.row_number()
        .over(partition_by=rows.c[key], order_by=rows.c[column])
        .label("rn"),
        func.count().over(partition_by=rows.c[key]).label("n"),
    ).subquery()


def _middle(ranks):
    """The middle row of each key, or its two middle rows (an even count)."""
    return ranks.c.rn.in_([(ranks.c.n + 1) // 2, (ranks.c.n + 2) // 2])


def median(rows, column: str, key: str):
    """Per-``key`` median of ``column`` of a subquery, as a subquery with the
    columns ``item`` and ``median``.

    Neither SQLite nor PostgreSQL has a portable MEDIAN: number the rows of each
    item with ROW_NUMBER, keep the middle one, or average the two middle ones.
    """
    ranks = ranked(rows, column, key)
    return (
        select(ranks.c[key].label("item"), func.avg(ranks.c[column]).label("median"))
        .where(_middle(ranks))
        .group_by(ranks.c[key])
        .subquery()
    )


def in_period(column, since: datetime | None, until: datetime | None) -> list:
    """WHERE clauses keeping ``column`` in ``[since, until)`` (naive UTC, either
    bound open when None): what a period means on every page."""
    clauses = []
    if since:
        clauses.append(column >= since)
    if until:
        clauses.append(column < until)
    return clauses


def days_between(session: Session, later, earlier):
    """SQL for the (fractional) days from ``earlier`` to ``later``: the one place
    that knows SQLite and PostgreSQL subtract timestamps differently."""
    if dialect.name(session) == "postgresql":
        return extract("epoch", later - earlier) / 86_400
    return func.julianday(later) - func.julianday(earlier)


def spread_median(spread, measure: str, key):
    """Per-``key`` median of one ``measure`` of a spread (a subquery of
    ``measure``, ``value`` and ``views``: how many page views had each value;
    ``tracker.contributions.spread_contributions``), as a subquery with the
    columns ``item`` and ``median``.

    The values are added up per key and value, then run through in order: the
    middle page view (or the two middle ones, averaged) is the first value
    whose running count reaches its position. Counts instead of rows: a
    median over a year costs what the distinct values cost, not the views.
    """
    counts = (
        select(
            key.label("item"),
            spread.c.value,
            cast(func.sum(spread.c.views), BigInteger).label("n"),
        )
        .where(spread.c.measure == measure)
        .group_by(key, spread.c.value)
        .subquery()
    )
    running = select(
        counts.c.item,
        counts.c.value,
        cast(
            func.sum(counts.c.n).over(
                partition_by=counts.c.item, order_by=counts.c.value
            ),
            BigInteger,
        ).label("upto"),
        cast(func.sum(counts.c.n).over(partition_by=counts.c.item), BigInteger).label(
            "total"
        ),
    ).subquery()
    low = func.min(
        case((running.c.upto >= (running.c.total + 1) // 2, running.c.value))
    )
    high = func.min(
        case((running.c.upto >= (running.c.total + 2) // 2, running.c.value))
    )
    return (
        select(running.c.item, ((low + high) / 2.0).label("median"))
        .group_by(running.c.item)
        .subquery()
    )
