"""From a decoded QR code to a saved lead: parse, merge with a returning visitor, save.

``kiosk scan --auto-save`` and the burst save every accepted code through
:class:`LeadPipeline`. The same visitor yields one lead: a new scan is matched to an
existing lead by case-folded email, else by badge id, else by payload text. A match
that brings new information saves a new revision of that lead; an identical one saves
nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.contacts.model import Contact, PayloadRejected

if TYPE_CHECKING:
    from kiosk.capture.types import DecodedCode
    from kiosk.config import Config
    from kiosk.store import LeadStore, SavedLead

log = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REJECTED = "rejected"

# Values that mean "absent" in a lead's fields; a scan never writes them over a value.
_EMPTY_VALUES: tuple[Any, ...] = ("", None, (), [], {})


class SavesLeads(Protocol):
    """What the pipeline needs from :class:`kiosk.runtime.Runtime`."""

    config: Config
    store: LeadStore

    def save_lead(
        self,
        fields: Mapping[str, Any],
        lead_id: str | None = None,
        *,
        payload_text: str = "",
        record_metric: bool = True,
    ) -> SavedLead: ...


@dataclass(frozen=True)
class ScanOutcome:
    """What became of one accepted code.

    Attributes:
        status: ``created``, ``updated`` (a new revision), ``unchanged`` (a returning
            visitor with nothing new) or ``rejected`` (not a contact).
        lead_id: the lead created or matched; ``""`` when rejected.
        revision: the lead's revision after this scan; 0 when rejected.
        has_email: does the contact carry an email (AcmeCRM requires one)?
        reject_code: the parser's error code when rejected, else ``""``.
        reject_message: the parser's message for the operator when rejected.
        save_ms: the durable save's duration, or ``None`` when nothing was saved.
    """

    status: str
    lead_id: str = ""
    revision: int = 0
    has_email: bool = False
    reject_code: str = ""
    reject_message: str = ""
    save_ms: float | None = None


class LeadPipeline:
    """Parse accepted codes and save each visitor as one lead.

    Safe to call from several threads: the duplicate look-up and the save run under one
    lock, so two scans of the same visitor cannot both create a lead.
    """

    def __init__(self, runtime: SavesLeads, *, record_metric: bool = True) -> None:
        """Build a pipeline that saves through ``runtime.save_lead``.

        Args:
            runtime: the :class:`kiosk.runtime.Runtime` (or anything with ``config``,
                ``store`` and ``save_lead``).
            record_metric: record each save's latency as a metric when saving.
        """
        self._runtime = runtime
        self._record_metric = record_metric
        self._lock = threading.Lock()

    def parse_code(self, code: DecodedCode) -> Contact:
        """Parse a decoded code into a contact draft.

        Raises:
            PayloadRejected: the code holds no contact.
        """
        from kiosk.contacts import parse

        payload: str | bytes = code.text if code.text else code.raw
        return parse(payload, self._runtime.config)

    def handle_code(self, code: DecodedCode) -> ScanOutcome:
        """Parse one accepted code and save it, merged with an earlier scan if any."""
        try:
            contact = self.parse_code(code)
        except PayloadRejected as exc:
            return ScanOutcome(
                REJECTED, reject_code=exc.code, reject_message=exc.message
            )
        payload_text = code.text or code.raw.decode("utf-8", "replace")
        return self.save_contact(contact, payload_text)

    def save_contact(self, contact: Contact, payload_text: str = "") -> ScanOutcome:
        """Save a contact as a new lead, or merge it into the same visitor's lead."""
        fields = self.fields_for(contact)
        has_email = bool(contact.email)
        with self._lock:
            store = self._runtime.store
            duplicate = store.find_duplicate(
                email=contact.dedup_key,
                badge_id=contact.badge_id,
                payload_text=payload_text,
            )
            if duplicate is None:
                saved, save_ms = self._save(fields, None, payload_text)
                return ScanOutcome(
                    CREATED, saved.lead_id, saved.revision, has_email, save_ms=save_ms
                )
            existing = store.get_lead(duplicate.lead_id)
            merged = merge_fields(existing.fields, fields)
            if merged == dict(existing.fields):
                log.debug("Lead %s scanned again with nothing new", duplicate.lead_id)
                return ScanOutcome(
                    UNCHANGED, duplicate.lead_id, existing.revision, has_email
                )
            saved, save_ms = self._save(merged, duplicate.lead_id, payload_text)
        return ScanOutcome(
            UPDATED, saved.lead_id, saved.revision, has_email, save_ms=save_ms
        )

    def fields_for(self, contact: Contact) -> dict[str, Any]:
        """Return the lead fields of a new scan: the contact's, plus the event."""
        from kiosk.store import lead_fields_from_contact

        fields = dict(lead_fields_from_contact(contact))
        event = self._runtime.config.kiosk.event
        if event and not fields.get("event"):
            fields["event"] = event
        return fields

    def _save(
        self, fields: Mapping[str, Any], lead_id: str | None, payload_text: str
    ) -> tuple[SavedLead, float]:
        started = time.perf_counter()
        saved = self._runtime.save_lead(
            fields,
            lead_id,
            payload_text=payload_text,
            record_metric=self._record_metric,
        )
        return saved, (time.perf_counter() - started) * 1000.0


def merge_fields(
    existing: Mapping[str, Any], scanned: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge a new scan into a lead's fields.

    A non-empty scanned value replaces the stored one, so the latest card wins. An empty
    scanned value never clears a stored one, so the operator's rating, notes, consent
    and answers survive a re-scan.
    """
    merged = dict(existing)
    # Stored snapshots went through JSON (tuples came back as lists), so compare the
    # scan in the same form.
    normalized = json.loads(json.dumps(dict(scanned), default=str))
    for name, value in normalized.items():
        if value in _EMPTY_VALUES:
            continue
        if merged.get(name) != value:
            merged[name] = value
    return merged
