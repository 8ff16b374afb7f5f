"""CSV export of leads, streaming pages of leads into a private file."""

from __future__ import annotations

import contextlib
import csv
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import ColumnElement, and_, func, select, tuple_

from kiosk.errors import KioskError
from kiosk.store.csv_cells import ProgressCallback, escape_cell, report_progress
from kiosk.store.leads import LeadStore
from kiosk.store.models import Lead
from kiosk.store.queries import last_synced_value, latest_outbox_value
from sync_daemon.outbox import outbox_table

logger = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "lead_id", "captured_at", "first_name", "last_name", "email", "phone", "company",
    "title", "website", "linkedin_url", "notes", "rating", "consent_at", "badge_id",
    "sync_state", "crm_id", "synced_at",
)  # fmt: skip

EXPORT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class ExportReport:
    """The outcome of an export: how many leads were written."""

    exported: int


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
                report_progress(progress, exported, max(total, exported))
        os.replace(temporary, path)
    except OSError as exc:
        _remove_partial(temporary)
        raise KioskError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        _remove_partial(temporary)
        raise
    report_progress(progress, exported, max(total, exported))
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


def _open_private(path: Path, target: Path) -> TextIO:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise KioskError(f"Cannot write {target}: {exc.strerror}.") from exc
    return os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")


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
