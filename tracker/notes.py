"""Notes from sales about a content item and a prospect ("she quoted this").

Owns: validating and writing a note. A note is not an event: it is typed by a
colleague in the dashboard, not sent by a browser, so it is written here and not
by the ingest path. No Flask: the dashboard's form and its JSON twin call
:func:`add_note` and commit.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.models import Content, Lead, Note
from resonance.core.sizes import HEADING_LEN

MAX_BODY = 2000
MAX_AUTHOR = 200
MAX_SECTION = HEADING_LEN


class NoteInvalid(ValueError):
    """The note's fields are not acceptable; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NoteTargetMissing(LookupError):
    """The content item or the lead is not one of the site's."""


def note_errors(author: str, body: str, section: str | None) -> dict[str, str]:
    """The problems of a note's fields (already stripped), by field; empty if none."""
    errors: dict[str, str] = {}
    if not body:
        errors["body"] = "Write the note."
    elif len(body) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY:,} characters, not {len(body):,}."
    if not author:
        errors["author"] = "Say who is writing."
    elif len(author) > MAX_AUTHOR:
        errors["author"] = f"At most {MAX_AUTHOR} characters."
    if section is not None and len(section) > MAX_SECTION:
        errors["section"] = f"At most {MAX_SECTION} characters."
    return errors


def add_note(
    session: Session,
    site_id: int,
    content_id: int,
    lead_id: int | None,
    author: str,
    body: str,
    section: str | None,
    now: datetime,
) -> Note:
    """Validate and add a note on a content item of the site, about one of its
    leads (or none). Raises :class:`NoteInvalid` for bad fields and
    :class:`NoteTargetMissing` for another site's content or lead. Does not commit.
    """
    author = (author or "").strip()
    body = (body or "").strip()
    section = (section or "").strip() or None
    if errors := note_errors(author, body, section):
        raise NoteInvalid(errors)
    content = session.scalar(
        select(Content.id).where(Content.id == content_id, Content.site_id == site_id)
    )
    if content is None:
        raise NoteTargetMissing(f"content {content_id} is not a content of this site")
    if lead_id is not None and not session.scalar(
        select(Lead.id).where(Lead.id == lead_id, Lead.site_id == site_id)
    ):
        raise NoteTargetMissing(f"lead {lead_id} is not a lead of this site")
    note = Note(
        site_id=site_id,
        content_id=content_id,
        lead_id=lead_id,
        section=section,
        author=author,
        body=body,
        created_at=naive_utc(now),
    )
    session.add(note)
    session.flush()
    return note
