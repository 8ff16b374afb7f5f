"""CSV import of leads: rows read in batches, each merged into its visitor's lead."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from kiosk.contacts.normalize import region_or_default
from kiosk.errors import KioskError
from kiosk.store.csv_cells import ProgressCallback, first_line, report_progress
from kiosk.store.csv_records import Record, count_rows, open_for_reading, read_records
from kiosk.store.csv_rows import Row, RowError, parse_row, read_header
from kiosk.store.leads import LeadStore

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


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
    total = count_rows(path)
    counts = _Counts()
    rejected: list[RejectedRow] = []
    batch: list[Row] = []
    with open_for_reading(path) as handle:
        records = read_records(handle)
        header = read_header(records, path)
        for record in records:
            row = _row_or_rejection(header, record, region, rejected)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                _save_batch(store, batch, counts)
                batch = []
                report_progress(progress, counts.done + len(rejected), total)
    _save_batch(store, batch, counts)
    report_progress(progress, total, total)
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
    record: Record,
    region: str,
    rejected: list[RejectedRow],
) -> Row | None:
    if record.error:
        rejected.append(RejectedRow(record.line, record.error))
        return None
    try:
        return parse_row(header, record, region)
    except RowError as exc:
        rejected.append(RejectedRow(record.line, str(exc)))
        return None


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged


def _save_batch(store: LeadStore, rows: Sequence[Row], counts: _Counts) -> None:
    """Merge a batch of rows into their leads and save what changed.

    The stored leads are looked up inside the transaction that saves the batch
    (:meth:`LeadStore.save_revisions`), so a scan saving the same visitor meanwhile
    cannot add a second lead.
    """
    if not rows:
        return
    try:
        report = store.save_revisions([row.change() for row in rows])
    except (SQLAlchemyError, ValueError) as exc:
        raise CsvImportError(
            f"Saving the rows of lines {rows[0].line} to {rows[-1].line} failed: "
            f"{first_line(exc)}. The rows before line {rows[0].line} are saved; "
            "importing the file again merges them instead of adding them twice."
        ) from exc
    counts.created += report.created
    counts.updated += report.updated
    counts.unchanged += report.unchanged
