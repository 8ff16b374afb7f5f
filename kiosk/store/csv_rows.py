"""Validation and normalisation of the header and data rows of a CSV import."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.contacts.normalize import CRM_LIMITS, normalize_email, normalize_phone
from kiosk.store import fields as lead_fields
from kiosk.store.csv_cells import unescape_cell
from kiosk.store.csv_records import (
    MAX_CELL_CHARS,
    TOO_LONG,
    CsvFormatError,
    Record,
)
from kiosk.store.revisions import LeadChange

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


class RowError(ValueError):
    pass


def read_header(records: Iterator[Record], path: Path) -> list[str]:
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
class Row:
    """A good data row: its line, its non-empty field values, and its lead id."""

    line: int
    fields: dict[str, Any]
    captured_at: datetime | None
    lead_id: str

    def change(self) -> LeadChange:
        """Return the row as a change to merge into its visitor's lead."""
        return LeadChange(self.fields, self.lead_id, self.captured_at)


def parse_row(header: Sequence[str], record: Record, region: str) -> Row:
    cells = record.cells
    if len(cells) != len(header):
        raise RowError(_cell_count_error(len(cells), len(header), record))
    if any(len(cell) > MAX_CELL_CHARS for cell in cells):
        # Reached only when the process-wide csv field size limit is set higher.
        raise RowError(TOO_LONG)
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
    return Row(record.line, fields, captured_at, values.get(LEAD_ID, ""))


def _cell_count_error(cells: int, columns: int, record: Record) -> str:
    message = f"has {cells} cells but the header has {columns}"
    if any("\n" in cell or "\r" in cell for cell in record.cells):
        message += (
            "; a quoted cell on this row runs over several lines, so check that "
            "each quote is closed"
        )
    return message


def _check_fields(fields: dict[str, Any], region: str) -> None:
    if not any(fields.get(name) for name in IDENTIFYING_COLUMNS):
        raise RowError("has no name, email, phone, company or badge id")
    if "email" in fields:
        fields["email"] = _valid_email(fields["email"], "email")
    if "other_emails" in fields:
        fields["other_emails"] = [
            _valid_email(text, "other_emails") for text in fields["other_emails"]
        ]
    _normalize_phones(fields, region)
    rating = str(fields.get("rating", "")).lower()
    if rating not in lead_fields.RATINGS:
        raise RowError(f"rating {fields['rating']!r} is not hot, warm or cold")
    if rating:
        fields["rating"] = rating
    if fields.get("consent_at"):
        _parse_time(fields["consent_at"], "consent_at")
    _check_lengths(fields)


def _check_lengths(fields: dict[str, Any]) -> None:
    # A scanned lead over a limit is saved with a warning beside the field. A CSV row
    # is rejected instead, because the file can be fixed and imported again.
    for name, limit in CRM_LIMITS.items():
        value = fields.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise RowError(
                f"{name} is {len(value)} characters, but the CRM accepts at most "
                f"{limit}; shorten it and import the file again"
            )


def _valid_email(text: str, column: str) -> str:
    email = normalize_email(text)
    if email is None:
        raise RowError(f"{column} is not a valid email address")
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
        raise RowError(
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
        raise RowError(f"the answers column is not valid JSON ({exc.msg})") from exc
    if not isinstance(answers, dict):
        raise RowError(
            'the answers column must contain a JSON object such as {"budget": "yes"}'
        )
    return answers


def _parse_time(value: str, column: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError(
            f"{column} {value!r} is not an ISO 8601 time such as 2026-05-04T10:42:00Z"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
