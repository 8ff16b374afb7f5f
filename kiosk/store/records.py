"""Plain frozen records the lead store returns, so no ORM object crosses a thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.errors import KioskError
from kiosk.store.models import Lead

NO_OUTBOX_ROW = ""
"""The sync state of a lead without an outbox row (``save_lead`` always writes one)."""


class LeadNotFound(KioskError, LookupError):
    """No lead has the given id."""

    def __init__(self, lead_id: str) -> None:
        super().__init__(f"No lead with id {lead_id} in this database.")
        self.lead_id = lead_id


@dataclass(frozen=True)
class LeadSummary:
    """A lead found by :meth:`LeadStore.find_duplicate`.

    Attributes:
        matched_on: the key that matched, ``"email"``, ``"badge_id"`` or ``"payload"``.
    """

    lead_id: str
    revision: int
    captured_at: datetime
    updated_at: datetime
    matched_on: str
    first_name: str
    last_name: str
    email: str
    company: str


@dataclass(frozen=True)
class LeadRecord:
    """One lead at its latest revision, with the sync state of that revision.

    Attributes:
        fields: every lead field (see :data:`kiosk.store.fields.LEAD_FIELDS`).
        sync_state: the state of the newest outbox row (``pending``, ``synced``, ...).
        crm_id: the CRM's id from the newest revision that reached the CRM, or None.
        last_error: the newest outbox row's error or rejection reason, else ``""``.
    """

    lead_id: str
    fields: dict[str, Any]
    revision: int
    captured_at: datetime
    updated_at: datetime
    sync_state: str
    crm_id: str | None
    last_error: str
    synced_at: datetime | None


@dataclass(frozen=True)
class LeadRow:
    """One line of the staff panel's lead list."""

    lead_id: str
    revision: int
    captured_at: datetime
    updated_at: datetime
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    title: str
    rating: str
    sync_state: str
    last_error: str
    crm_id: str | None


def lead_summary(lead: Lead, matched_on: str) -> LeadSummary:
    return LeadSummary(
        lead_id=lead.id,
        revision=lead.revision,
        captured_at=lead.captured_at,
        updated_at=lead.updated_at,
        matched_on=matched_on,
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        company=lead.company,
    )


def lead_row(row: Sequence[Any]) -> LeadRow:
    return LeadRow(
        lead_id=row[0],
        revision=row[1],
        captured_at=row[2],
        updated_at=row[3],
        first_name=row[4],
        last_name=row[5],
        email=row[6],
        phone=row[7],
        company=row[8],
        title=row[9],
        rating=row[10],
        sync_state=row[11] or NO_OUTBOX_ROW,
        last_error=row[12] or "",
        crm_id=row[13],
    )
