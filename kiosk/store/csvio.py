"""CSV import and export of leads, streaming, with progress callbacks for the GUI.

Import: a header row of lead field names, UTF-8 with or without a byte order mark. Each
good row becomes a new lead with its outbox row, saved ``batch_size`` rows a
transaction. Each bad row is reported with its line number and the reason.

Export: UTF-8 with a byte order mark (so spreadsheet programs detect UTF-8), the
columns of :data:`EXPORT_COLUMNS`, oldest lead first, read in pages so memory use does
not grow with the number of leads.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select, tuple_

from kiosk.contacts.normalize import normalize_email
from kiosk.errors import KioskError
from kiosk.store import fields as lead_fields
from kiosk.store.batch import NewLead
from kiosk.store.leads import LeadStore
from kiosk.store.models import Lead
from kiosk.store.queries import last_synced_value, latest_outbox_value

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch, rows or leads."""

EXPORT_COLUMNS = (
    "lead_id", "captured_at", "first_name", "last_name", "email", "phone", "company",
    "title", "website", "linkedin_url", "notes", "rating", "consent_at", "badge_id",
    "sync_state", "crm_id", "synced_at",
)  # fmt: skip

TEXT_COLUMNS = (
    "first_name", "last_name", "middle_name", "prefix", "suffix", "nickname", "email",
    "phone", "phone_ext", "fax", "company", "title", "website", "linkedin_url", "notes",
    "badge_id", "event_code", "profile_url", "source_format", "rating", "consent_at",
    "consent_version", "event",
)  # fmt: skip
LIST_COLUMNS = ("department", "other_emails", "other_phones")
"""Columns holding several values separated by ``;``."""
JSON_COLUMNS = ("answers",)
"""Columns holding a JSON object (the answers to the qualifying questions)."""
CAPTURED_AT = "captured_at"
IGNORED_COLUMNS = ("lead_id", "sync_state", "crm_id", "synced_at")
"""Export columns accepted on import and not used: an imported row is a new lead."""
IMPORT_COLUMNS = (
    *TEXT_COLUMNS,
    *LIST_COLUMNS,
    *JSON_COLUMNS,
    CAPTURED_AT,
    *IGNORED_COLUMNS,
)
IDENTIFYING_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "badge_id",
)

FORMULA_PREFIXES = ("=", "+", "-", "@")
"""First characters that make a spreadsheet evaluate a cell as a formula."""
_ESCAPE_TRIGGERS = frozenset("'=+-@")
E164_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
EXPORT_PAGE_SIZE = 1000
DEFAULT_BATCH_SIZE = 500


class CsvFormatError(KioskError):
    """The CSV file cannot be imported at all (unreadable, not UTF-8, bad header)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of an import: its line number in the file and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import: leads saved, rows rejected, data rows read."""

    imported: int
    rejected: tuple[RejectedRow, ...]
    rows: int


@dataclass(frozen=True)
class ExportReport:
    """The outcome of an export: how many leads were written."""

    exported: int


class _RowError(ValueError):
    pass


def escape_cell(value: str) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` gets one, except an E.164 phone
    number such as ``+12015550123``. A cell that already starts with an apostrophe and
    one of those characters gets one more, so :func:`unescape_cell` restores it exactly.
    """
    if not value or value[0] not in _ESCAPE_TRIGGERS:
        return value
    if _starts_escaped(value):
        return "'" + value
    if value.startswith(FORMULA_PREFIXES) and not E164_PHONE.fullmatch(value):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Remove the apostrophe that :func:`escape_cell` added, and only that one."""
    if _starts_escaped(value):
        return value[1:]
    return value


def _starts_escaped(value: str) -> bool:
    """Is ``value`` one or more apostrophes followed by a formula character?"""
    rest = value.lstrip("'")
    return len(rest) < len(value) and rest.startswith(FORMULA_PREFIXES)


def import_csv(
    path: str | Path,
    store: LeadStore,
    progress: ProgressCallback | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportReport:
    """Import the leads of a CSV file, each queued for sync like a scanned lead.

    The file is read twice: once to count its rows and check that it is UTF-8 CSV
    (nothing is saved when that fails), then to import. A batch that fails to save
    stops the import, and the batches before it stay saved.

    NOTE: every good row becomes a new lead, even when a lead with the same email is
    already stored. The CRM upserts by email, so both end up as one CRM contact.

    Raises:
        CsvFormatError: the file cannot be read, is not UTF-8 CSV, has no header row,
            or its header names a column that is not a lead field.
    """
    path = Path(path)
    total = _count_rows(path)
    imported = 0
    rejected: list[RejectedRow] = []
    batch: list[NewLead] = []
    with _open_for_reading(path) as handle:
        reader = csv.reader(handle)
        header = _read_header(reader, path)
        for line, cells in _records(reader):
            try:
                batch.append(_parse_row(header, cells))
            except _RowError as exc:
                rejected.append(RejectedRow(line, str(exc)))
            if len(batch) >= batch_size:
                imported += len(store.save_many(batch))
                batch = []
                _report(progress, imported + len(rejected), total)
    if batch:
        imported += len(store.save_many(batch))
    _report(progress, total, total)
    logger.info("Imported %d leads from CSV, rejected %d rows", imported, len(rejected))
    return ImportReport(imported, tuple(rejected), imported + len(rejected))


def export_csv(
    path: str | Path, store: LeadStore, progress: ProgressCallback | None = None
) -> ExportReport:
    """Export every lead with its sync state to a CSV file, oldest first.

    The file is written under a temporary name and renamed at the end, so a failed
    export leaves no half-written file. It is created with mode 0600 because it
    contains visitors' contact details.
    """
    path = Path(path)
    total = store.count_leads()
    temporary = path.with_name(f".{path.name}.partial")
    exported = 0
    try:
        with _open_private(temporary) as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            for page in _export_pages(store):
                writer.writerows([escape_cell(cell) for cell in row] for row in page)
                exported += len(page)
                _report(progress, exported, max(total, exported))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _report(progress, exported, max(total, exported))
    logger.info("Exported %d leads to CSV", exported)
    return ExportReport(exported)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _open_for_reading(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CsvFormatError(f"Cannot read {path}: {exc.strerror}.") from exc


def _open_private(path: Path) -> TextIO:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise KioskError(f"Cannot write {path}: {exc.strerror}.") from exc
    return os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")


def _count_rows(path: Path) -> int:
    rows = 0
    with _open_for_reading(path) as handle:
        reader = csv.reader(handle)
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    rows += 1
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"{path} is not UTF-8 text: line {_invalid_utf8_line(path)} has a byte "
                "that is not UTF-8. Save the file as CSV UTF-8 and import it again."
            ) from exc
        except csv.Error as exc:
            raise CsvFormatError(
                f"{path} is not a valid CSV file at line {reader.line_num}: {exc}."
            ) from exc
    return max(rows - 1, 0)


def _invalid_utf8_line(path: Path) -> int:
    # The text reader decodes in blocks, so its line count at the error is only
    # approximate. Decode the bytes again to find the line, on this error path only.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 1


def _read_header(reader: Iterator[list[str]], path: Path) -> list[str]:
    for cells in reader:
        if any(cell.strip() for cell in cells):
            return _check_header(cells, path)
    raise CsvFormatError(
        f"{path} has no header row. Its first line must name the columns, for example "
        "first_name,last_name,email."
    )


def _check_header(cells: Sequence[str], path: Path) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if unknown:
        quoted_names = ", ".join(repr(name) for name in unknown)
        raise CsvFormatError(
            f"{path} has unknown column(s) {quoted_names}. Rename them to lead field "
            f"names; accepted columns: {', '.join(IMPORT_COLUMNS)}."
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CsvFormatError(
            f"{path} names column(s) {', '.join(repeated)} more than once. "
            "Keep one of each."
        )
    return header


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number where the record starts, cells)``, skipping blank lines."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        if any(cell.strip() for cell in cells):
            yield start, cells


def _parse_row(header: Sequence[str], cells: Sequence[str]) -> NewLead:
    if len(cells) != len(header):
        raise _RowError(f"has {len(cells)} cells but the header has {len(header)}")
    values = {
        name: unescape_cell(cell.strip())
        for name, cell in zip(header, cells, strict=True)
    }
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name in TEXT_COLUMNS:
            fields[name] = value
        elif name in LIST_COLUMNS:
            fields[name] = [part.strip() for part in value.split(";") if part.strip()]
        elif name in JSON_COLUMNS:
            fields[name] = _parse_answers(value)
    _check_fields(fields)
    captured_at = _parse_time(values.get(CAPTURED_AT, ""), CAPTURED_AT)
    return NewLead(fields=fields, captured_at=captured_at)


def _check_fields(fields: dict[str, Any]) -> None:
    if not any(fields.get(name) for name in IDENTIFYING_COLUMNS):
        raise _RowError("has no name, email, phone, company or badge id")
    if fields.get("email"):
        email = normalize_email(fields["email"])
        if email is None:
            raise _RowError("email is not a valid email address")
        fields["email"] = email
    rating = str(fields.get("rating", "")).lower()
    if rating not in lead_fields.RATINGS:
        raise _RowError(f"rating {fields['rating']!r} is not hot, warm or cold")
    fields["rating"] = rating
    if fields.get("consent_at"):
        _parse_time(fields["consent_at"], "consent_at")


def _parse_answers(value: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        answers = json.loads(value)
    except json.JSONDecodeError as exc:
        raise _RowError(f"the answers column is not valid JSON ({exc.msg})") from exc
    if not isinstance(answers, dict):
        raise _RowError(
            'the answers column must contain a JSON object such as {"budget": "yes"}'
        )
    return answers


def _parse_time(value: str, column: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _RowError(
            f"{column} {value!r} is not an ISO 8601 time such as 2026-05-04T10:42:00Z"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _export_pages(store: LeadStore) -> Iterator[list[list[str]]]:
    """Yield pages of export rows, each read in its own short transaction."""
    query = select(
        Lead.id,
        Lead.captured_at,
        Lead.fields,
        latest_outbox_value("state"),
        last_synced_value("crm_id"),
        last_synced_value("synced_at"),
    ).order_by(Lead.captured_at, Lead.id)
    after: tuple[datetime, str] | None = None
    while True:
        page_query = query
        if after is not None:
            page_query = query.where(tuple_(Lead.captured_at, Lead.id) > after)
        with store.reader_session() as session:
            rows = session.execute(page_query.limit(EXPORT_PAGE_SIZE)).all()
        if not rows:
            return
        yield [_export_row(row) for row in rows]
        after = (rows[-1][1], rows[-1][0])


def _export_row(row: Sequence[Any]) -> list[str]:
    lead_id, captured_at, fields, state, crm_id, synced_at = row
    values = {
        "lead_id": lead_id,
        "captured_at": captured_at.isoformat(),
        "sync_state": state or "",
        "crm_id": crm_id or "",
        "synced_at": synced_at.isoformat() if synced_at is not None else "",
    }
    return [
        str(values[name] if name in values else fields.get(name, "") or "")
        for name in EXPORT_COLUMNS
    ]
