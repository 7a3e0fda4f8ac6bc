"""What the page views of a set add to the heatmap's click grid: their clicks
placed on the newest snapshot of the content item at each width the content
page draws, counted per square of ``BIN_PX``. Part of
``tracker.contributions``, which registers it with the other summaries.

Placement (Clarity's method): ``box.left + fx·box.width``, ``box.top +
fy·box.height`` of the element with the click's selector in the snapshot;
without a box, PostHog's ``x / viewport_w · width`` with y unchanged. The
summary places a click where the dashboard would at the time of the refresh:
storing a snapshot marks its content item's days changed
(``tracker.snapshots.add_snapshot``), so a page never mixes two placements.

Must not import: Flask, the dashboard. Writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)

from resonance.core.models import Click, Snapshot, SnapshotElement

BIN_PX = 8
# The width each device class's heatmap is drawn at (its snapshots' width).
SNAPSHOT_WIDTHS = {"mobile": 375, "tablet": 768, "desktop": 1440}
# All devices together are drawn on the desktop page.
EVERY_DEVICE = "desktop"
# The figures of a square: clicks, page views with a click there, the tag.
GRID_FIGURES = ("clicks", "views", "tag_max")
# ``_placed``'s snapshot: each content item's newest at the width.
NEWEST = -1


def device_width(device: str | None) -> int:
    """The width the heatmap of ``device`` (None: every device) is drawn at."""
    return SNAPSHOT_WIDTHS[device or EVERY_DEVICE]


# Which of a content item's snapshots at one width is drawn: the newest taken
# (the later stored, of two taken at once).
NEWEST_FIRST = (Snapshot.taken_at.desc(), Snapshot.id.desc())


def newest_snapshots(width: int):
    """Each content item's newest snapshot at ``width`` (columns
    ``content_id``, ``id``; rows with ``rank`` 1), as a subquery."""
    s = Snapshot
    return (
        select(
            s.content_id,
            s.id,
            func.row_number()
            .over(partition_by=s.content_id, order_by=NEWEST_FIRST)
            .label("rank"),
        )
        .where(s.width_px == width)
        .subquery("newest")
    )


def grid_contributions(
    views,
    keys: Iterable[str] = (),
    at: tuple[int, int | None] | None = None,
    bin_px: int = BIN_PX,
):
    """What the page views of ``views`` (with ``id``, ``content_id`` and
    ``device``) add to the click grid: per ``keys`` columns, ``width``, square
    (``x_bin``, ``y_bin``) and selector, the figures of :data:`GRID_FIGURES`.

    Every click is placed at the desktop width (the heatmap of every device)
    and a phone's or tablet's also at its own (that device's heatmap), each on
    the newest snapshot at that width. ``at``: place every click at one
    (width, snapshot id or None) instead, for a page drawn otherwise.
    """
    keys = tuple(keys)
    if at is not None:
        parts = [_placed(views, keys, at[0], at[1], None, bin_px)]
    else:
        own = [d for d in SNAPSHOT_WIDTHS if d != EVERY_DEVICE]
        parts = [
            _placed(views, keys, device_width(device), NEWEST, device, bin_px)
            for device in (None, *own)
        ]
    # A plain SELECT around the UNION: SQLite takes no nested compound SELECT.
    grid = union_all(*parts).subquery("grid")
    return select(*grid.c)


def _placed(views, keys, width: int, snapshot: int | None, device, bin_px: int):
    """The clicks of ``views`` (of one ``device`` class, or all) placed at
    ``width`` on ``snapshot`` (:data:`NEWEST`: each item's newest at that
    width; None: none, every click by the fallback) and counted per square."""
    c, box = Click, SnapshotElement
    stmt = select().select_from(c).join(views, views.c.id == c.pageview_id)
    if snapshot == NEWEST:
        newest = newest_snapshots(width)
        stmt = stmt.outerjoin(
            newest, and_(newest.c.content_id == c.content_id, newest.c.rank == 1)
        )
        snapshot_id = newest.c.id
    else:
        snapshot_id = literal(snapshot)
    stmt = stmt.outerjoin(
        box,
        and_(
            box.snapshot_id == snapshot_id,
            box.selector == c.selector,
            box.width_px > 0,
            box.height_px > 0,
        ),
    )
    on_box = box.selector.is_not(None)
    fallback_x = (
        cast(c.x, Float) * width / func.coalesce(func.nullif(c.viewport_w, 0), width)
    )
    x = case((on_box, box.left_px + c.fx * box.width_px), else_=fallback_x)
    y = case((on_box, box.top_px + c.fy * box.height_px), else_=cast(c.y, Float))
    square = (cast(x // bin_px, Integer), cast(y // bin_px, Integer))
    grouping = [views.c[k] for k in keys]
    stmt = stmt.add_columns(
        *grouping,
        literal(width).label("width"),
        square[0].label("x_bin"),
        square[1].label("y_bin"),
        c.selector,
        func.count().label("clicks"),
        func.count(func.distinct(c.pageview_id)).label("views"),
        func.max(c.tag).label("tag_max"),
    ).where(c.content_id == views.c.content_id)
    if device is not None:
        stmt = stmt.where(views.c.device == device)
    return stmt.group_by(*grouping, *square, c.selector)
