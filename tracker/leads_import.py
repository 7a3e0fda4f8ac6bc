"""Import leads (and their stages) from a CRM's CSV export.

Owns: reading a CSV (UTF-8 with or without BOM, ``,`` or ``;`` or tab), mapping
its header onto lead fields (our names, HubSpot's export names, or ``--map``),
checking every row, and feeding valid rows through :mod:`tracker.crm` exactly as
the API does. A bad row is reported with its line number and skipped; the others
are imported. Importing the same file again changes nothing: leads are upserts,
and a stage row without a CRM event id gets a deterministic one.

Does not commit: the caller (the CLI) commits once the summary is printed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.sizes import EMAIL_LEN
from tracker import crm

FIELDS = (
    "email",
    "crm_id",
    "name",
    "company",
    "company_id",
    "owner",
    "stage",
    "stage_changed_at",
    "crm_event_id",
)
# Header names recognised without --map, compared ignoring case and punctuation.
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address"),
    "crm_id": ("crm_id", "record id"),
    "name": ("name", "full name"),
    "first_name": ("first name",),
    "last_name": ("last name",),
    "company": ("company", "company name"),
    "company_id": ("company_id", "company id", "associated company id"),
    "owner": ("owner", "contact owner"),
    "stage": ("stage", "lifecycle stage"),
    "stage_changed_at": ("stage_changed_at",),
    "crm_event_id": ("crm_event_id",),
}
MAPPABLE = (*FIELDS, "first_name", "last_name")
LIMITS = {
    "email": EMAIL_LEN,
    "crm_id": crm.CRM_ID_LEN,
    "name": crm.FIELD_LEN,
    "company": crm.FIELD_LEN,
    "company_id": crm.CRM_ID_LEN,
    "owner": crm.FIELD_LEN,
    "stage": crm.STAGE_RAW_LEN,
    "crm_event_id": crm.EVENT_ID_LEN,
}
SNIFF_BYTES = 64 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no key column, bad --map)."""


@dataclass
class ImportSummary:
    """What an import did, row by row: each row is counted once."""

    imported: int = 0  # rows that created a lead
    updated: int = 0  # rows that changed a lead or recorded a new stage
    unchanged: int = 0  # rows that matched what is stored
    errors: list[str] = field(default_factory=list)  # "line 7: …", skipped
    stages_recorded: int = 0

    def totals(self) -> str:
        """One line for people: ``3 imported, 1 updated, 0 unchanged, 2 errors …``."""
        return (
            f"{self.imported} imported, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.errors)} errors "
            f"({self.stages_recorded} stage changes recorded)"
        )


@dataclass(frozen=True)
class LeadRow:
    """One valid row."""

    line: int
    email: str | None
    crm_id: str | None
    name: str | None
    company: str | None
    company_id: str | None
    owner: str | None
    stage: str | None
    stage_changed_at: datetime | None
    crm_event_id: str | None


class RowError(ValueError):
    """A row that is skipped; the message names the field and value."""


def import_leads(
    session: Session,
    site_id: int,
    source: str | bytes | Path,
    *,
    mapping: dict[str, str] | None = None,
    now: datetime,
    report: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import a CSV (a path, its bytes, or its text) into the site's leads;
    ``report(done, total)`` is told after each data row."""
    text = _text(source)
    dialect = _dialect(text)
    total = _row_count(text, dialect) if report else 0
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("the file is empty")
    columns = map_columns(header, mapping or {})
    summary = ImportSummary()
    last_line = reader.line_num
    for done, cells in enumerate(reader, 1):
        line, last_line = last_line + 1, reader.line_num
        if any(cell.strip() for cell in cells):  # else a blank line
            try:
                row = parse_row(line, cells, columns, len(header))
                _store(session, site_id, row, summary, naive_utc(now))
            except (RowError, crm.LeadConflict) as exc:
                summary.errors.append(f"line {line}: {exc}")
        if report:
            report(done, total)
    return summary


def _row_count(text: str, dialect) -> int:
    """Data rows (records, not lines: a quoted cell may hold line breaks)."""
    records = csv.reader(io.StringIO(text, newline=""), dialect)
    return max(sum(1 for _ in records) - 1, 0)


def _text(source: str | bytes | Path) -> str:
    """The file's text; a UTF-8 BOM (Excel's habit) is dropped."""
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"the file is not UTF-8: {exc}") from None
    return source.removeprefix("\ufeff")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """``,`` / ``;`` / tab, as sniffed from the start of the file."""
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        first = sample.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count)

        class Sniffed(csv.excel):
            pass

        Sniffed.delimiter = delimiter
        return Sniffed


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def map_columns(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """Field → column index, from ``mapping`` (field → header) and the defaults."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(_key(name), index)
    columns: dict[str, int] = {}
    for field_name, column in mapping.items():
        if field_name not in MAPPABLE:
            raise ImportFileError(
                f"--map {field_name}=…: unknown field; use one of {', '.join(MAPPABLE)}"
            )
        if _key(column) not in positions:
            raise ImportFileError(
                f"--map {field_name}={column}: the header has no column {column!r}"
            )
        columns[field_name] = positions[_key(column)]
    for field_name, names in DEFAULT_HEADERS.items():
        if field_name not in columns:
            found = [positions[_key(n)] for n in names if _key(n) in positions]
            if found:
                columns[field_name] = found[0]
    if "email" not in columns and "crm_id" not in columns:
        raise ImportFileError(
            "the header has neither an email nor a crm_id column "
            "(name one with --map email=COLUMN or --map crm_id=COLUMN)"
        )
    return columns


def parse_row(
    line: int, cells: list[str], columns: dict[str, int], width: int
) -> LeadRow:
    """Check one row; :class:`RowError` says what is wrong with it."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        raise RowError(f"{len(cells)} fields where the header has {width}")
    values = {
        name: cells[index].strip() if index < len(cells) else ""
        for name, index in columns.items()
    }
    if any("\x00" in value for value in values.values()):
        raise RowError("contains a NUL character")
    if not values.get("name") and (values.get("first_name") or values.get("last_name")):
        first, last = values.get("first_name", ""), values.get("last_name", "")
        values["name"] = f"{first} {last}".strip()
    for name, limit in LIMITS.items():
        if len(values.get(name, "")) > limit:
            raise RowError(f"{name} is longer than {limit} characters")
    email = crm.normalise_email(values.get("email"))
    if email and not re.match(crm.EMAIL_PATTERN, email):
        raise RowError(f"email {values['email']!r} is not an e-mail address")
    crm_id = values.get("crm_id") or None
    if email is None and crm_id is None:
        raise RowError("neither email nor crm_id is given")
    return LeadRow(
        line=line,
        email=email,
        crm_id=crm_id,
        name=values.get("name") or None,
        company=values.get("company") or None,
        company_id=values.get("company_id") or None,
        owner=values.get("owner") or None,
        stage=values.get("stage") or None,
        stage_changed_at=_when(values.get("stage_changed_at") or None),
        crm_event_id=values.get("crm_event_id") or None,
    )


def _when(value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime; without a zone it is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(
            f"stage_changed_at {value!r} is not an ISO 8601 date "
            "like 2024-03-01 or 2024-03-01T09:30:00Z"
        ) from None
    if not 1970 <= moment.year <= 2100:
        raise RowError(f"stage_changed_at {value!r} is not between 1970 and 2100")
    if len(value) == 10:  # a date alone: the start of that UTC day
        moment = datetime.combine(moment.date(), time())
    return naive_utc(moment)


def _store(
    session: Session, site_id: int, row: LeadRow, summary: ImportSummary, now
) -> None:
    """Upsert the row's lead and record its stage; count what it changed."""
    write = crm.upsert_lead(
        session,
        site_id,
        email=row.email,
        crm_id=row.crm_id,
        name=row.name,
        company=row.company,
        company_id=row.company_id,
        owner=row.owner,
        now=now,
    )
    recorded = row.stage is not None and _record_stage(
        session, site_id, write.lead, row, now
    )
    summary.stages_recorded += recorded
    if write.created:
        summary.imported += 1
    elif write.changed or recorded:
        summary.updated += 1
    else:
        summary.unchanged += 1


def _record_stage(session: Session, site_id: int, lead, row: LeadRow, now) -> bool:
    """Record the row's stage once.

    With a date, the event id (when the file has none) is a hash of lead, stage
    and date, so a re-import is a replay. Without a date the column says the
    stage *as of this import*: it is recorded only when it differs from the
    lead's current stage, dated now.
    """
    key = row.crm_id or row.email
    if row.stage_changed_at is None:
        if lead.stage_raw is not None and lead.stage_raw.lower() == row.stage.lower():
            return False
        entered_at = now
        material = f"{key}|{row.stage.lower()}|as of {now.isoformat()}"
    else:
        entered_at = row.stage_changed_at
        material = f"{key}|{row.stage.lower()}|{entered_at.isoformat()}"
    event_id = (
        row.crm_event_id or "csv:" + hashlib.sha256(material.encode()).hexdigest()
    )
    return crm.record_stage_change(
        session,
        site_id,
        lead.id,
        stage_raw=row.stage,
        entered_at=entered_at,
        crm_event_id=event_id,
        now=now,
    )
