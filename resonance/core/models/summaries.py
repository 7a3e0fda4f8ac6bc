"""Summaries the dashboard reads instead of scanning event tables.

One row per content item, UTC day, device class and *cohort* of visitors, with
additive figures only (counts and sums), so that the rows of any set of page views
add up to the figure of that set. The cohort is what a segment filter needs to
know about a visitor, taken from the lead it is linked to: linked at all, reached
sales, current stage. ``tracker.summaries`` keeps the rows exact as events arrive
and as visitors change cohort.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import CLICK_TEXT_LEN, HEADING_LEN, SELECTOR_LEN, URL_LEN

# Sorts the key before a summary's own columns (their ``sort_order`` is 0).
FIRST = -1


class SummaryKey:
    """The key every summary row starts with: content item, UTC day, device
    class and cohort. They are the table's first columns and the primary key's
    first, as the migrations created them (``FIRST``: SQLAlchemy would put a
    mixin's columns last). Each summary adds its own key columns, then
    ``site_id`` and its figures."""

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"),
        primary_key=True,
        sort_order=FIRST,
    )
    day: Mapped[date] = mapped_column(primary_key=True, sort_order=FIRST)
    device: Mapped[str] = mapped_column(String(8), primary_key=True, sort_order=FIRST)
    # Cohort: linked to a lead; that lead reached sales; its stage ('' for none).
    lead: Mapped[bool] = mapped_column(Boolean, primary_key=True, sort_order=FIRST)
    sales: Mapped[bool] = mapped_column(Boolean, primary_key=True, sort_order=FIRST)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True, sort_order=FIRST)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        """A site's summaries by day: what a purge or an erasure deletes."""
        return (Index(None, "site_id", "day"),)


class SectionTotal(SummaryKey, Base):
    """Attention by section: for one heading of one content item, the page views
    of one day, device and cohort that had it, reached it, left inside it, and
    their active time on it (``tracker.contributions.section_contributions`` is the
    definition, ``dashboard.queries.attention`` the reader)."""

    __tablename__ = "section_totals"

    heading: Mapped[str] = mapped_column(String(HEADING_LEN), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # Page views with the section; section rows (a heading may repeat in a page).
    views: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    reached: Mapped[int] = mapped_column(BigInteger)
    left_inside: Mapped[int] = mapped_column(BigInteger)
    active_ms: Mapped[int] = mapped_column(BigInteger)
    # Sums and counts for the averages of the layout (NULL layout values skipped).
    top_sum: Mapped[int] = mapped_column(BigInteger)
    top_n: Mapped[int] = mapped_column(BigInteger)
    idx_sum: Mapped[int] = mapped_column(BigInteger)
    height_sum: Mapped[int] = mapped_column(BigInteger)
    height_n: Mapped[int] = mapped_column(BigInteger)


class DepthTotal(SummaryKey, Base):
    """Scroll reach: the page views of one content item, day, device and cohort
    whose deepest point fell in one band, by 100 px (``measure`` ``px``) or by
    tenth of the page (``tenth``; 10 is the very end)."""

    __tablename__ = "depth_totals"

    measure: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(BigInteger)


class SummaryChange(Base):
    """A content item's UTC day whose summary rows no longer match its raw
    events (events stored, a visitor changed cohort, a person erased): written
    in the same transaction as the change; the dashboard reads that day raw
    until ``tracker.summaries.refresh`` recomputes it and deletes the mark."""

    __tablename__ = "summary_changes"
    __table_args__ = (Index(None, "content_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE")
    )
    day: Mapped[date]


class BandTotal(SummaryKey, Base):
    """Attention by depth: for one 100 px band of one content item, the active
    milliseconds it was on screen and the page views that reported it, per day,
    device and cohort. ``band`` -1 counts the page views that reported any band
    (the average's denominator), with ``ms`` 0."""

    __tablename__ = "band_totals"

    band: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(BigInteger)
    ms: Mapped[int] = mapped_column(BigInteger)


class ViewTotal(SummaryKey, Base):
    """Page-view totals: the page views of one content item, day, device and
    cohort, their active time, fold heights and read-throughs (sums, for the
    content list and the content page's averages), and the extremes of their
    page heights and deepest points (how scroll reach is drawn)."""

    __tablename__ = "view_totals"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(BigInteger)
    active_ms: Mapped[int] = mapped_column(BigInteger)
    viewport_h: Mapped[int] = mapped_column(BigInteger)
    read_through: Mapped[int] = mapped_column(BigInteger)
    doc_h_min: Mapped[int] = mapped_column(BigInteger)
    doc_h_max: Mapped[int] = mapped_column(BigInteger)
    scroll_px_max: Mapped[int] = mapped_column(BigInteger)


class SpreadTotal(SummaryKey, Base):
    """How page views spread over a measure, for medians: the page views of
    one content item, day, device and cohort with ``value`` whole seconds of
    active time (``measure`` ``active_s``) or ``value`` whole percent of the
    page reached (``scroll_pct``). A median over any days is read from the
    counts, so it never needs the page views themselves."""

    __tablename__ = "spread_totals"

    measure: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(BigInteger)


class SourceTotal(SummaryKey, Base):
    """Where page views came from, for the source, campaign and referrer
    selects: the page views of one content item, day, device and cohort with
    one utm source (``kind`` ``source``), utm campaign (``campaign``) or
    referrer host (``referrer``; ``value`` '' for none, shown as direct)."""

    __tablename__ = "source_totals"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(URL_LEN), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(BigInteger)


class ElementTotal(SummaryKey, Base):
    """Clicks by element: for one clicked selector of one content item, the
    clicks of the page views of one day, device and cohort, the page views
    with a click on it, and its rage, dead and error clicks (the top elements
    table; ``tracker.click_contributions.element_contributions`` says how a rage
    click is counted). ``tag_max`` is the element's tag (the greatest, should
    one selector have met several); ``first_click_min`` its first click (the
    least id), whose section names an element without a label or a text."""

    __tablename__ = "element_totals"

    selector: Mapped[str] = mapped_column(String(SELECTOR_LEN), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    clicks: Mapped[int] = mapped_column(BigInteger)
    views: Mapped[int] = mapped_column(BigInteger)
    rage: Mapped[int] = mapped_column(BigInteger)
    dead: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[int] = mapped_column(BigInteger)
    tag_max: Mapped[str] = mapped_column(String(16))
    first_click_min: Mapped[int] = mapped_column(BigInteger)


class TextTotal(SummaryKey, Base):
    """What clicked elements said: the clicks of one content item, day, device
    and cohort on one selector that carried one non-empty text, for each
    element's most common text (how an element without a label is named)."""

    __tablename__ = "text_totals"

    selector: Mapped[str] = mapped_column(String(SELECTOR_LEN), primary_key=True)
    text: Mapped[str] = mapped_column(String(CLICK_TEXT_LEN), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    clicks: Mapped[int] = mapped_column(BigInteger)


class GridTotal(SummaryKey, Base):
    """The heatmap's click grid: the clicks of one content item, day, device
    and cohort placed at one ``width`` on the item's newest snapshot there, per
    square (``x_bin``, ``y_bin``, of ``tracker.grid_contributions.BIN_PX``) and
    clicked selector, the page views with a click there, and the tag."""

    __tablename__ = "grid_totals"

    width: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    x_bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    y_bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    selector: Mapped[str] = mapped_column(String(SELECTOR_LEN), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    clicks: Mapped[int] = mapped_column(BigInteger)
    views: Mapped[int] = mapped_column(BigInteger)
    tag_max: Mapped[str] = mapped_column(String(16))
