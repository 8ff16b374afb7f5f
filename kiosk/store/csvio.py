"""CSV import and export of leads, streaming, with progress callbacks for the GUI.

Import: a header row of lead field names, UTF-8 with or without a byte order mark. A
row merges into the lead of the same visitor, found like a scan finds one: by the
``lead_id`` column of an export when that lead exists, else by case-folded email, else
by badge id. A merged lead gets a new revision only when a cell changed a value, and
an empty cell never clears one. Other rows become new leads. Each new lead or revision
is queued for sync, ``batch_size`` rows a transaction. Each bad row is reported with
its line number and the reason.

Export: UTF-8 with a byte order mark (so spreadsheet programs detect UTF-8) and the
columns of :data:`EXPORT_COLUMNS`. Leads come oldest first, the leads of one import in
file order. They are read in pages, so memory use does not grow with their number.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    func,
    insert,
    make_url,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from kiosk.contacts.normalize import (
    normalize_email,
    normalize_phone,
    region_or_default,
)
from kiosk.errors import KioskError
from kiosk.store import fields as lead_fields
from kiosk.store.batch import NewLead, lead_columns
from kiosk.store.leads import LeadStore, open_store
from kiosk.store.models import Lead
from kiosk.store.queries import last_synced_value, latest_outbox_value
from sync_daemon import outbox
from sync_daemon.db import utcnow
from sync_daemon.outbox import outbox_table

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
LEAD_ID = "lead_id"
IGNORED_COLUMNS = ("sync_state", "crm_id", "synced_at")
"""Export columns accepted on import and not used."""
IMPORT_COLUMNS = (
    *TEXT_COLUMNS,
    *LIST_COLUMNS,
    *JSON_COLUMNS,
    CAPTURED_AT,
    LEAD_ID,
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
LOOKUP_CHUNK = 500
"""Keys a lookup query binds at most, well under SQLite's limit on bound parameters."""
MAX_CELL_CHARS = 1024 * 1024
"""Maximum length of an imported cell in characters. A longer cell rejects its row."""


class CsvFormatError(KioskError):
    """The CSV file cannot be imported at all (unreadable, not UTF-8, bad header)."""


class CsvImportError(KioskError):
    """Saving a batch of rows failed; the batches before it stay saved."""


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of an import: its line number in the file and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import, counted in data rows.

    Attributes:
        created: rows that became a new lead.
        updated: rows that changed a lead already stored or met earlier in the file.
        unchanged: rows whose lead already held every value they contain.
        rejected: rows left out, with their line numbers.
        rows: data rows read, the sum of the four counts above.
    """

    created: int
    updated: int
    unchanged: int
    rejected: tuple[RejectedRow, ...]
    rows: int

    @property
    def imported(self) -> int:
        """Rows that were saved or merged: every row that was not rejected."""
        return self.created + self.updated + self.unchanged

    @property
    def saved(self) -> int:
        """Rows that created a lead or changed one, so a revision is queued for sync."""
        return self.created + self.updated

    def summary(self) -> str:
        """Return the counts as one phrase, such as ``2 new, 1 updated, ...``."""
        return (
            f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )


@dataclass(frozen=True)
class ExportReport:
    """The outcome of an export: how many leads were written."""

    exported: int


class _RowError(ValueError):
    pass


def escape_cell(value: str, *, phone: bool = False) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` gets one. The exception is an
    E.164 number such as ``+12015550123`` in a phone cell (``phone=True``); the same
    text in any other column gets the apostrophe. A cell that already starts with an
    apostrophe and one of those characters gets one more, so :func:`unescape_cell`
    restores it exactly.
    """
    if not value or value[0] not in _ESCAPE_TRIGGERS:
        return value
    if _starts_escaped(value):
        return "'" + value
    if phone and E164_PHONE.fullmatch(value):
        return value
    if value.startswith(FORMULA_PREFIXES):
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


def open_csv_store(url: str, *, must_exist: bool) -> tuple[LeadStore, bool]:
    """Open the lead store for an import or an export.

    Args:
        url: the SQLAlchemy URL from ``--db``.
        must_exist: raise instead of creating a SQLite database file that does not
            exist yet (an export reads leads and must not create an empty store).

    Returns:
        The store, and whether a new SQLite database file was created.

    Raises:
        KioskError: the URL is invalid, the database file is missing while
            ``must_exist`` is set, or the database cannot be opened.
    """
    safe_url = _displayable_url(url)
    path = _sqlite_file(url)
    existed = path is None or path.exists()
    if path is not None and path.is_dir():
        raise KioskError(
            f"The database path {path} is a directory. Give the path of a SQLite "
            "file, such as sqlite:////var/lib/kiosk/leads.sqlite3."
        )
    if must_exist and not existed:
        raise KioskError(
            f"Database not found: {path}. Check the --db URL; an export reads an "
            "existing database and does not create one."
        )
    try:
        store = open_store(url)
    except ArgumentError as exc:
        raise KioskError(
            f"Invalid database URL {safe_url}: {_first_line(exc)}. Use a SQLAlchemy "
            "URL such as sqlite:////var/lib/kiosk/leads.sqlite3."
        ) from exc
    except ImportError as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: its database driver is not "
            f"installed ({exc}). Install it in the kiosk's environment."
        ) from exc
    except DBAPIError as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: {_first_line(exc.orig)}."
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: {_first_line(exc)}."
        ) from exc
    return store, not existed


def _displayable_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        raise KioskError(
            f"Invalid database URL {url!r}: {_first_line(exc)}. Use a SQLAlchemy URL "
            "such as sqlite:////var/lib/kiosk/leads.sqlite3."
        ) from exc


def _sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for other databases and memory."""
    parsed: URL = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _first_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0].rstrip(".") if text else type(error).__name__


def import_csv(
    path: str | Path,
    store: LeadStore,
    progress: ProgressCallback | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    default_region: str | None = None,
) -> ImportReport:
    """Import the leads of a CSV file, merging each row into its visitor's lead.

    The file is read twice: once to count its rows and check that it is UTF-8 text
    (nothing is saved when that fails), then to import. Each batch looks up the
    stored leads its rows match with one query per key kind, then saves the new
    leads in one transaction and each changed lead as a new revision.

    Args:
        path: the CSV file.
        store: the lead store to save into.
        progress: called after each batch with the rows done and the total.
        batch_size: data rows read between two saves.
        default_region: ISO 3166 region for phone numbers written without a
            country code; None means US.

    Raises:
        CsvFormatError: the file cannot be read, is not UTF-8 text, has no header
            row, or its header names a column that is not a lead field.
        CsvImportError: saving a batch failed; the batches before it stay saved.
    """
    path = Path(path)
    region = region_or_default(default_region)
    total = _count_rows(path)
    counts = _Counts()
    rejected: list[RejectedRow] = []
    batch: list[_Row] = []
    with _open_for_reading(path) as handle:
        records = _records(handle)
        header = _read_header(records, path)
        for record in records:
            row = _row_or_rejection(header, record, region, rejected)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                _save_batch(store, batch, counts)
                batch = []
                _report(progress, counts.done + len(rejected), total)
    _save_batch(store, batch, counts)
    _report(progress, total, total)
    report = ImportReport(
        counts.created,
        counts.updated,
        counts.unchanged,
        tuple(rejected),
        counts.done + len(rejected),
    )
    logger.info("Imported CSV rows: %s", report.summary())
    return report


def _row_or_rejection(
    header: Sequence[str],
    record: _Record,
    region: str,
    rejected: list[RejectedRow],
) -> _Row | None:
    if record.error:
        rejected.append(RejectedRow(record.line, record.error))
        return None
    try:
        return _parse_row(header, record, region)
    except _RowError as exc:
        rejected.append(RejectedRow(record.line, str(exc)))
        return None


def export_csv(
    path: str | Path, store: LeadStore, progress: ProgressCallback | None = None
) -> ExportReport:
    """Export every lead with its sync state to a CSV file, oldest first.

    The file is written under a temporary name in the same folder and renamed at the
    end, so a failed export leaves no half-written file. It is created with mode
    0600 because it contains visitors' contact details.

    Raises:
        KioskError: the path is a folder, or the file cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise KioskError(
            f"Cannot write {path}: it is a directory. Give a file name, such as "
            f"{path / 'leads.csv'}."
        )
    total = store.count_leads()
    temporary = path.with_name(f".{path.name}.partial")
    exported = 0
    try:
        with _open_private(temporary, path) as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            for page in _export_pages(store):
                writer.writerows(_escaped(row) for row in page)
                exported += len(page)
                _report(progress, exported, max(total, exported))
        os.replace(temporary, path)
    except OSError as exc:
        _remove_partial(temporary)
        raise KioskError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        _remove_partial(temporary)
        raise
    _report(progress, exported, max(total, exported))
    logger.info("Exported %d leads to CSV", exported)
    return ExportReport(exported)


def _remove_partial(temporary: Path) -> None:
    # The folder may be missing or not a folder at all, which is why the export
    # failed in the first place.
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


_PHONE_COLUMN = EXPORT_COLUMNS.index("phone")


def _escaped(row: Sequence[str]) -> list[str]:
    return [
        escape_cell(cell, phone=index == _PHONE_COLUMN)
        for index, cell in enumerate(row)
    ]


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _open_for_reading(path: Path) -> TextIO:
    if path.is_dir():
        raise CsvFormatError(
            f"{path} is a directory, not a CSV file. Give the path of a .csv file."
        )
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CsvFormatError(f"Cannot read {path}: {exc.strerror}.") from exc


def _open_private(path: Path, target: Path) -> TextIO:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise KioskError(f"Cannot write {target}: {exc.strerror}.") from exc
    return os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")


@dataclass(frozen=True)
class _Record:
    """One CSV record: the line it starts on, its cells, or why it cannot be read."""

    line: int
    cells: list[str]
    error: str = ""


class _Lines:
    """The physical lines of a file, counted, with the quotes seen since a mark."""

    def __init__(self, handle: TextIO) -> None:
        self._lines = iter(handle)
        self.number = 0
        self.quotes = 0
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            text = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        self.number += 1
        self.quotes += text.count('"')
        return text

    def skip_to_closing_quote(self) -> None:
        """Skip lines until the quotes since the mark pair up (or the file ends)."""
        while self.quotes % 2 == 1 and not self.exhausted:
            next(self, None)


def _records(handle: TextIO) -> Iterator[_Record]:
    """Yield the records of a CSV file, skipping blank ones.

    ``csv.reader`` reads an unclosed quote to the end of the file without an error,
    and stops at a cell longer than its field size limit. Both become a record with
    an error, and reading goes on after the bad record where that can be found.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    lines = _Lines(handle)
    reader = csv.reader(lines)
    while True:
        start = lines.number + 1
        lines.quotes = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Record(start, [], _read_error(exc, lines, start))
            continue
        if lines.exhausted:
            # A record that reached the end of the file ended inside a quoted field,
            # because the reader returns a complete record before it reads a line more.
            yield _Record(start, [], _unclosed_quote(start, lines.number))
            return
        if any(cell.strip() for cell in cells):
            yield _Record(start, cells)


_TOO_LONG = (
    f"a cell is longer than the maximum of {MAX_CELL_CHARS:,} characters. "
    "Shorten it, then import the file again"
)


def _read_error(error: csv.Error, lines: _Lines, start: int) -> str:
    # The reader drops the rest of the line it failed on. When that line left a
    # quoted field open, the field goes on over the next lines, so skip them too.
    lines.skip_to_closing_quote()
    if lines.quotes % 2 == 1:
        return _unclosed_quote(start, lines.number)
    if "field larger than field limit" in str(error):
        return _TOO_LONG
    return f"is not valid CSV ({error}). Check the quotes and separators of this row"


def _unclosed_quote(start: int, last: int) -> str:
    extent = f"lines {start} to {last}" if last > start else f"line {start}"
    return (
        f"a quoted field starts on this line and its closing quote is missing, so "
        f"{extent} (the end of the file) were read as one cell and none of them was "
        "imported. Add the closing quote and import the file again"
    )


def _count_rows(path: Path) -> int:
    rows = 0
    with _open_for_reading(path) as handle:
        try:
            for _record in _records(handle):
                rows += 1
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"{path} is not UTF-8 text: line {_invalid_utf8_line(path)} has a byte "
                "that is not UTF-8. Save the file as CSV UTF-8 and import it again."
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


def _read_header(records: Iterator[_Record], path: Path) -> list[str]:
    for record in records:
        if record.error:
            raise CsvFormatError(
                f"{path} has an unreadable header row at line {record.line}: "
                f"{record.error}."
            )
        return _check_header(record.cells, path)
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


@dataclass(frozen=True)
class _Row:
    """A good data row: its line, its non-empty field values, and its merge keys."""

    line: int
    fields: dict[str, Any]
    captured_at: datetime | None
    lead_id: str

    @property
    def email_key(self) -> str:
        return lead_fields.email_key(str(self.fields.get("email", "")))

    @property
    def badge_id(self) -> str:
        return str(self.fields.get("badge_id", "")).strip()


def _parse_row(header: Sequence[str], record: _Record, region: str) -> _Row:
    cells = record.cells
    if len(cells) != len(header):
        raise _RowError(_cell_count_error(len(cells), len(header), record))
    if any(len(cell) > MAX_CELL_CHARS for cell in cells):
        # Reached only when the process-wide csv field size limit is set higher.
        raise _RowError(_TOO_LONG)
    values = {
        name: unescape_cell(cell.strip())
        for name, cell in zip(header, cells, strict=True)
    }
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if not value:
            continue
        if name in TEXT_COLUMNS:
            fields[name] = value
        elif name in LIST_COLUMNS:
            parts = [part.strip() for part in value.split(";") if part.strip()]
            if parts:
                fields[name] = parts
        elif name in JSON_COLUMNS:
            answers = _parse_answers(value)
            if answers:
                fields[name] = answers
    _check_fields(fields, region)
    captured_at = _parse_time(values.get(CAPTURED_AT, ""), CAPTURED_AT)
    return _Row(record.line, fields, captured_at, values.get(LEAD_ID, ""))


def _cell_count_error(cells: int, columns: int, record: _Record) -> str:
    message = f"has {cells} cells but the header has {columns}"
    if any("\n" in cell or "\r" in cell for cell in record.cells):
        message += (
            "; a quoted cell on this row runs over several lines, so check that "
            "each quote is closed"
        )
    return message


def _check_fields(fields: dict[str, Any], region: str) -> None:
    if not any(fields.get(name) for name in IDENTIFYING_COLUMNS):
        raise _RowError("has no name, email, phone, company or badge id")
    if "email" in fields:
        fields["email"] = _valid_email(fields["email"], "email")
    if "other_emails" in fields:
        fields["other_emails"] = [
            _valid_email(text, "other_emails") for text in fields["other_emails"]
        ]
    _normalize_phones(fields, region)
    rating = str(fields.get("rating", "")).lower()
    if rating not in lead_fields.RATINGS:
        raise _RowError(f"rating {fields['rating']!r} is not hot, warm or cold")
    if rating:
        fields["rating"] = rating
    if fields.get("consent_at"):
        _parse_time(fields["consent_at"], "consent_at")


def _valid_email(text: str, column: str) -> str:
    email = normalize_email(text)
    if email is None:
        raise _RowError(f"{column} is not a valid email address")
    return email


def _normalize_phones(fields: dict[str, Any], region: str) -> None:
    """Write phone numbers as E.164, the way a scanned contact's are written."""
    if "phone" in fields:
        number, extension = _valid_phone(
            fields["phone"], region, "phone", fields.get("phone_ext", "")
        )
        fields["phone"] = number
        if extension:
            fields["phone_ext"] = extension
    if "fax" in fields:
        fields["fax"] = _phone_text(*_valid_phone(fields["fax"], region, "fax"))
    if "other_phones" in fields:
        fields["other_phones"] = [
            _phone_text(*_valid_phone(text, region, "other_phones"))
            for text in fields["other_phones"]
        ]


def _valid_phone(
    text: str, region: str, column: str, extension: str = ""
) -> tuple[str, str]:
    number, _, parameter = text.partition(";ext=")
    phone = normalize_phone(number, region, extension or parameter.strip())
    if phone is None or not phone.valid:
        raise _RowError(
            f"{column} is not a valid phone number (numbers without a country code "
            f"are read as {region}). Write it with its country code, such as "
            "+44 20 7946 0958, or leave the cell empty"
        )
    return phone.number, phone.extension


def _phone_text(number: str, extension: str) -> str:
    # Fax and other phones carry their extension in the RFC 3966 parameter form, as
    # the contact parser writes them.
    return f"{number};ext={extension}" if extension else number


def _parse_answers(value: str) -> dict[str, Any]:
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


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class _StoredLead:
    lead_id: str
    fields: dict[str, Any]


@dataclass
class _StoredLeads:
    """The stored leads a batch's rows can merge into, by each merge key."""

    by_id: dict[str, _StoredLead] = field(default_factory=dict)
    by_email: dict[str, _StoredLead] = field(default_factory=dict)
    by_badge: dict[str, _StoredLead] = field(default_factory=dict)


@dataclass
class _Target:
    """A lead a batch writes: a new one (``lead_id`` None) or a stored one."""

    lead_id: str | None
    base: dict[str, Any]
    fields: dict[str, Any]
    captured_at: datetime | None = None
    merged_rows: int = 0
    changing_rows: int = 0

    def count(self, counts: _Counts) -> None:
        """Add this lead's rows to ``counts``, once the whole batch is merged.

        A stored lead whose values end as they were counts each row unchanged, even
        where rows of the file changed a value and later rows changed it back.
        """
        if self.lead_id is None:
            counts.created += 1
        elif self.fields == self.base:
            counts.unchanged += self.merged_rows
            return
        counts.updated += self.changing_rows
        counts.unchanged += self.merged_rows - self.changing_rows


@dataclass
class _BatchPlan:
    """The leads one batch saves, each findable by its merge keys."""

    stored: _StoredLeads
    targets: list[_Target] = field(default_factory=list)
    by_id: dict[str, _Target] = field(default_factory=dict)
    by_email: dict[str, _Target] = field(default_factory=dict)
    by_badge: dict[str, _Target] = field(default_factory=dict)

    def target_for(self, row: _Row) -> _Target | None:
        """Return the lead ``row`` merges into: by lead id, else email, else badge."""
        keys = (
            (row.lead_id, self.by_id, self.stored.by_id),
            (row.email_key, self.by_email, self.stored.by_email),
            (row.badge_id, self.by_badge, self.stored.by_badge),
        )
        for key, planned, stored in keys:
            if not key:
                continue
            if key in planned:
                return planned[key]
            if key in stored:
                return self._adopt(stored[key])
        return None

    def add_new(self, row: _Row) -> _Target:
        target = _Target(None, {}, dict(row.fields), row.captured_at)
        self.targets.append(target)
        self._register(target)
        return target

    def _adopt(self, lead: _StoredLead) -> _Target:
        if lead.lead_id in self.by_id:
            return self.by_id[lead.lead_id]
        base = lead_fields.merge_fields(lead.fields, {})
        target = _Target(lead.lead_id, base, dict(base))
        self.targets.append(target)
        self._register(target)
        return target

    def merge(self, target: _Target, row: _Row) -> None:
        """Merge the row's non-empty values into ``target``."""
        target.merged_rows += 1
        if any(target.fields.get(name) != value for name, value in row.fields.items()):
            target.changing_rows += 1
        target.fields.update(row.fields)
        self._register(target)

    def _register(self, target: _Target) -> None:
        email_key = lead_fields.email_key(str(target.fields.get("email", "")))
        badge_id = str(target.fields.get("badge_id", "")).strip()
        if target.lead_id:
            self.by_id.setdefault(target.lead_id, target)
        if email_key:
            self.by_email.setdefault(email_key, target)
        if badge_id:
            self.by_badge.setdefault(badge_id, target)


def _save_batch(store: LeadStore, rows: Sequence[_Row], counts: _Counts) -> None:
    """Merge a batch of rows into their leads and save what changed.

    NOTE: the stored leads are looked up before the saves, outside their
    transactions. A lead saved by a scan in between with the same email is not
    seen, and the import then saves a second lead for that visitor.
    """
    if not rows:
        return
    plan = _BatchPlan(_find_stored_leads(store, rows))
    for row in rows:
        target = plan.target_for(row)
        if target is None:
            plan.add_new(row)
        else:
            plan.merge(target, row)
    for target in plan.targets:
        target.count(counts)
    try:
        _write_plan(store, plan)
    except (SQLAlchemyError, ValueError) as exc:
        raise CsvImportError(
            f"Saving the rows of lines {rows[0].line} to {rows[-1].line} failed: "
            f"{_first_line(exc)}. The rows before line {rows[0].line} are saved; "
            "importing the file again merges them instead of adding them twice."
        ) from exc


def _write_plan(store: LeadStore, plan: _BatchPlan) -> None:
    new_leads = [
        NewLead(fields=target.fields, captured_at=target.captured_at)
        for target in plan.targets
        if target.lead_id is None
    ]
    store.save_many(new_leads)
    changes_by_lead: dict[str, dict[str, Any]] = {}
    for target in plan.targets:
        changes = {
            name: value
            for name, value in target.fields.items()
            if target.base.get(name) != value
        }
        if target.lead_id is not None and changes:
            changes_by_lead[target.lead_id] = changes
    _save_revisions(store, changes_by_lead)


def _save_revisions(store: LeadStore, changes_by_lead: Mapping[str, Any]) -> None:
    """Save a new revision of each lead, with its outbox row, in one transaction.

    Only the changed fields are merged, into the lead as it is inside this
    transaction, so a revision saved since the lookup keeps its other values.
    ``LeadStore.save_lead`` does the same for one lead, but calling it once a lead
    (a durable commit each) took 74 s for the 10,000 changed rows of
    ``benchmarks/import.py`` on a shared 2-core machine, against about 3 s this way.

    NOTE: this mirrors ``LeadStore.save_lead`` for an existing lead and
    :func:`sync_daemon.outbox.enqueue` (older unsent revisions superseded, a pending
    row for the new one), written as one statement a table for the whole batch.
    Keep them in step.
    """
    if not changes_by_lead:
        return
    now = utcnow()
    with store.engine.begin() as connection:
        revisions = _merged_revisions(connection, changes_by_lead)
        if not revisions:
            return
        leads = Lead.metadata.tables[Lead.__tablename__]
        connection.execute(
            update(leads).where(leads.c.id == bindparam("lead_key")),
            [
                {"lead_key": lead_id, "revision": revision, "updated_at": now}
                | lead_columns(merged)
                for lead_id, revision, merged in revisions
            ],
        )
        _enqueue_revisions(connection, revisions, now)
    logger.debug("Saved a new revision of %d leads in one transaction", len(revisions))


def _merged_revisions(
    connection: Connection, changes_by_lead: Mapping[str, Any]
) -> list[tuple[str, int, dict[str, Any]]]:
    """Return ``(lead id, new revision, merged fields)`` for each lead still stored."""
    revisions: list[tuple[str, int, dict[str, Any]]] = []
    for chunk in _chunks(sorted(changes_by_lead), LOOKUP_CHUNK):
        query = select(Lead.id, Lead.revision, Lead.fields).where(Lead.id.in_(chunk))
        for lead_id, revision, fields in connection.execute(query):
            merged = lead_fields.merge_fields(fields, changes_by_lead[lead_id])
            revisions.append((str(lead_id), int(revision) + 1, merged))
    return revisions


def _enqueue_revisions(
    connection: Connection,
    revisions: Sequence[tuple[str, int, dict[str, Any]]],
    now: datetime,
) -> None:
    table = outbox.outbox_table
    unsent = (outbox.PENDING, outbox.RETRY_WAIT, outbox.NEEDS_ATTENTION)
    connection.execute(
        update(table)
        .where(
            table.c.lead_id == bindparam("lead_key"),
            table.c.revision < bindparam("new_revision"),
            # An expanding IN cannot be part of an executemany statement.
            or_(*(table.c.state == state for state in unsent)),
        )
        .values(
            state=outbox.SUPERSEDED, last_error=bindparam("reason"), updated_at=now
        ),
        [
            {
                "lead_key": lead_id,
                "new_revision": revision,
                "reason": f"superseded by revision {revision}",
            }
            for lead_id, revision, _merged in revisions
        ],
    )
    connection.execute(
        insert(table),
        [
            {
                "lead_id": lead_id,
                "revision": revision,
                "idempotency_key": outbox.idempotency_key(lead_id, revision),
                "snapshot": json.dumps(merged, sort_keys=True, ensure_ascii=False),
                "state": outbox.PENDING,
                "attempt": 0,
                "last_error": "",
                "created_at": now,
                "updated_at": now,
            }
            for lead_id, revision, merged in revisions
        ],
    )


def _find_stored_leads(store: LeadStore, rows: Sequence[_Row]) -> _StoredLeads:
    """Look up the stored leads the rows match, one query per key kind and chunk.

    Where several leads share an email or badge id, the newest one is kept, as
    :meth:`LeadStore.find_duplicate` chooses.
    """
    found = _StoredLeads()
    lookups = (
        (Lead.id, {row.lead_id for row in rows if row.lead_id}, found.by_id),
        (
            Lead.email_key,
            {row.email_key for row in rows if row.email_key},
            found.by_email,
        ),
        (Lead.badge_id, {row.badge_id for row in rows if row.badge_id}, found.by_badge),
    )
    with store.reader_session() as session:
        for column, keys, by_key in lookups:
            for chunk in _chunks(sorted(keys), LOOKUP_CHUNK):
                for key, lead in _leads_with_keys(session, column, chunk):
                    by_key[key] = lead
    return found


def _leads_with_keys(
    session: Session, column: Any, keys: Sequence[str]
) -> Iterator[tuple[str, _StoredLead]]:
    """Yield ``(key, lead)`` oldest first, so a newer lead overwrites an older one."""
    query = (
        select(column, Lead.id, Lead.fields)
        .where(column.in_(keys))
        .order_by(Lead.captured_at, Lead.id)
    )
    for key, lead_id, fields in session.execute(query):
        yield str(key), _StoredLead(str(lead_id), dict(fields))


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _export_pages(store: LeadStore) -> Iterator[list[list[str]]]:
    """Yield pages of export rows, each read in its own short transaction.

    Leads are ordered by capture time, then by the id of their first outbox row.
    That id grows with every insert, so the leads of one import, which share a
    capture time, come out in file order.
    """
    first_revision = outbox_table.alias("first_revision")
    insert_order = func.coalesce(first_revision.c.id, 0)
    query = (
        select(
            Lead.id,
            Lead.captured_at,
            Lead.fields,
            latest_outbox_value("state"),
            last_synced_value("crm_id"),
            last_synced_value("synced_at"),
            insert_order,
        )
        .outerjoin(
            first_revision,
            and_(first_revision.c.lead_id == Lead.id, first_revision.c.revision == 1),
        )
        .order_by(Lead.captured_at, insert_order, Lead.id)
    )
    after: tuple[datetime, int, str] | None = None
    while True:
        page_query = query
        if after is not None:
            page_query = query.where(_after(after, insert_order))
        with store.reader_session() as session:
            rows = session.execute(page_query.limit(EXPORT_PAGE_SIZE)).all()
        if not rows:
            return
        yield [_export_row(row) for row in rows]
        last = rows[-1]
        after = (last[1], int(last[6]), str(last[0]))


def _after(
    position: tuple[datetime, int, str], insert_order: ColumnElement[Any]
) -> ColumnElement[bool]:
    # The plain range on captured_at lets the database start from its index. The
    # row-value comparison then drops the rows of that time already written.
    captured_at = position[0]
    return and_(
        Lead.captured_at >= captured_at,
        tuple_(Lead.captured_at, insert_order, Lead.id) > position,
    )


def _export_row(row: Sequence[Any]) -> list[str]:
    lead_id, captured_at, fields, state, crm_id, synced_at, _order = row
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
