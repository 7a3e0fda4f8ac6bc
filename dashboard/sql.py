"""Portable SQL building blocks for the dashboard's queries (SQLite and
PostgreSQL alike). Must not import Flask or Plotly."""

from __future__ import annotations

from sqlalchemy import func, select


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
