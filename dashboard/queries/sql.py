"""Portable SQL building blocks of the dashboard's queries: the median, time
arithmetic and the period bounds, written once for SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from resonance.core import dialect


def median(rows, column: str, key: str):
    """Per-``key`` median of ``column`` of a subquery, as a subquery with the
    columns ``item`` and ``median``.

    Neither SQLite nor PostgreSQL has a portable MEDIAN: number the rows of each
    item with ROW_NUMBER, keep the middle one, or average the two middle ones.
    """
    value = rows.c[column]
    item = rows.c[key]
    ranked = select(
        item.label("item"),
        value.label("value"),
        func.row_number().over(partition_by=item, order_by=value).label("rn"),
        func.count().over(partition_by=item).label("n"),
    ).subquery()
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    return (
        select(ranked.c.item, func.avg(ranked.c.value).label("median"))
        .where(middle)
        .group_by(ranked.c.item)
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


def epoch_ms(session: Session, column):
    """Milliseconds since the epoch of a naive UTC datetime column, in SQL."""
    if dialect.name(session) == "postgresql":
        return extract("epoch", column) * 1000
    return (func.julianday(column) - 2440587.5) * 86400000.0


def days_between(session: Session, later, earlier):
    """SQL for the (fractional) days from ``earlier`` to ``later``: the one place
    that knows SQLite and PostgreSQL subtract timestamps differently."""
    if dialect.name(session) == "postgresql":
        return extract("epoch", later - earlier) / 86_400
    return func.julianday(later) - func.julianday(earlier)
