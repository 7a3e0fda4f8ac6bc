"""Generated traffic into a database, through the paths real data takes.

Owns: feeding batches to ``tracker.ingest.ingest_many`` (the collector's group
path, the one writer of events) and storing a site's page outlines through
``tracker.catalog.store_outline``, as the crawler does. Generated data therefore
exercises validation, identity linking and every ``put_*`` step exactly as real
beacons do; nothing here writes rows itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from resonance.demo.site import Site
from tracker.catalog import PageOutline, Section, store_outline
from tracker.ingest import PartlyStored, RequestMeta, ingest_many

Batch = dict[str, Any]
Meta = dict[str, str]
# Batches per ingest call and transaction, as the collector groups them under
# load; also keeps memory flat however many batches come.
GROUP = 200


def feed(
    session: Session,
    sent: Iterable[tuple[Batch, Meta]],
    *,
    now: datetime,
    group: int = GROUP,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Ingest every ``(batch, meta)`` in order, commit after each group; return
    the events stored. ``meta`` holds the request's ``ip`` and ``user_agent``,
    and ``origin`` where a browser would send one. ``progress`` gets the
    batches and the events stored so far after each group.

    A refused batch raises its ``BeaconError``, a refused event a ``ValueError``:
    generated traffic must be valid.
    """
    pending: list[tuple[bytes, RequestMeta, datetime]] = []
    batches = stored = 0
    for batch, meta in sent:
        body = json.dumps(batch, separators=(",", ":")).encode()
        pending.append((body, RequestMeta(**meta), now))
        if len(pending) == group:
            stored += _ingest(session, pending, batches)
            batches += len(pending)
            pending.clear()
            if progress is not None:
                progress(batches, stored)
    if pending:
        stored += _ingest(session, pending, batches)
        batches += len(pending)
        if progress is not None:
            progress(batches, stored)
    session.commit()
    return stored


def _ingest(
    session: Session, pending: list[tuple[bytes, RequestMeta, datetime]], before: int
) -> int:
    stored = 0
    for number, result in enumerate(ingest_many(session, pending), start=before + 1):
        if isinstance(result, Exception):
            result.add_note(f"generated batch {number} was refused")
            raise result
        if isinstance(result, PartlyStored):
            refused = "; ".join(r.located for r in result.refused)
            raise ValueError(f"generated batch {number}: events refused: {refused}")
        stored += result
    session.commit()
    return stored


def store_outlines(session: Session, site_id: int, site: Site, at: datetime) -> None:
    """Store every page's title and words per section, as a crawl would find
    them, so that reading times can be expected. Does not commit."""
    for path, widths in site.pages.items():
        layout = next(iter(widths.values()))
        url = site.origin + path
        outline = PageOutline(
            url=url,
            canonical_url=url,
            title=layout.title,
            words=sum(section.words for section in layout.sections),
            sections=tuple(
                Section(section.level, section.heading, section.words)
                for section in layout.sections
            ),
        )
        store_outline(session, site_id, outline, at)
