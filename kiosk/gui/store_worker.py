"""The store worker: parsing, duplicate checks and saves on one QThread.

It runs the thread's event loop and takes requests as queued signals, so database
work never blocks the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from kiosk.contacts.model import Contact, PayloadRejected
from kiosk.gui.capture_worker import AcceptedCode
from kiosk.gui.worker_base import (
    PARSE_FAILED,
    STOP_TIMEOUT_MS,
    _running,
)
from kiosk.pipeline import LeadPipeline, merge_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanResult:
    """A scanned code parsed and matched against the leads already captured.

    Attributes:
        accepted: the accepted code.
        contact: the contact draft, or ``None`` when the payload was rejected.
        rejection: the parser's rejection, or ``None``.
        fields: the lead fields of the new scan (contact fields plus the event).
        duplicate: the earlier lead of the same visitor (``LeadSummary``), or ``None``.
        existing_fields: that lead's current fields, empty without a duplicate.
    """

    accepted: AcceptedCode
    contact: Contact | None
    rejection: PayloadRejected | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    duplicate: Any = None
    existing_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def payload_text(self) -> str:
        """Return the code's text, or its bytes decoded with replacement characters."""
        code = self.accepted.code
        return code.text or code.raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class SaveRequest:
    """A lead the operator confirmed.

    Attributes:
        fields: the lead fields to save.
        lead_id: the lead to give a new revision, or ``None`` for a new lead.
        payload_text: the scanned payload, ``""`` for manual entry.
        check_duplicate: look for an earlier lead of the same visitor first and, when
            there is one, emit ``duplicate_found`` instead of saving.
        merge_existing: with ``lead_id``, merge ``fields`` into that lead's stored
            fields (a non-empty value replaces the stored one, an empty one keeps it).
    """

    fields: Mapping[str, Any]
    lead_id: str | None = None
    payload_text: str = ""
    check_duplicate: bool = False
    merge_existing: bool = False


@dataclass(frozen=True)
class SaveResult:
    """A saved lead: its id, revision and capture time."""

    lead_id: str
    revision: int
    captured_at: Any


class StoreWorker(QObject):
    """Parses scans, looks up duplicates and saves leads in its own thread.

    Call :meth:`submit_scan` and :meth:`submit_save` from the GUI thread; they return at
    once and the result arrives as a signal.

    Signals:
        scan_ready(ScanResult): a scan parsed and checked for a duplicate.
        duplicate_found(SaveRequest, object): a save with ``check_duplicate`` matched
            the given earlier lead (``LeadSummary``); nothing was saved.
        saved(SaveResult): the lead is durable.
        save_failed(str): the save failed; the message is for the operator.
    """

    scan_ready = Signal(object)
    duplicate_found = Signal(object, object)
    saved = Signal(object)
    save_failed = Signal(str)

    _scan_requested = Signal(object)
    _save_requested = Signal(object)
    _metric_requested = Signal(str, float)
    _stop_requested = Signal()

    def __init__(self, runtime: Any) -> None:
        super().__init__()
        self._runtime = runtime
        self._pipeline = LeadPipeline(runtime)
        self._thread = QThread()
        self._thread.setObjectName("kiosk-store")
        self.moveToThread(self._thread)
        self._scan_requested.connect(self._handle_scan)
        self._save_requested.connect(self._handle_save)
        self._metric_requested.connect(self._handle_metric)
        self._stop_requested.connect(self._quit_loop)

    def start(self) -> None:
        """Start the worker's thread and its event loop."""
        _running.add(self._thread)
        self._thread.start()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """End the event loop once the requests already submitted are done, and wait.

        The quit request is queued behind them, so a save submitted just before the
        window closes still reaches the database.
        """
        if self._thread.isRunning():
            self._stop_requested.emit()
        stopped = bool(self._thread.wait(timeout_ms))
        if stopped:
            _running.discard(self._thread)
        else:
            log.error("The store thread did not stop within %d ms", timeout_ms)
        return stopped

    def submit_scan(self, accepted: AcceptedCode) -> None:
        """Parse an accepted code and look for the visitor's earlier lead."""
        self._scan_requested.emit(accepted)

    def submit_save(self, request: SaveRequest) -> None:
        """Save a confirmed lead."""
        self._save_requested.emit(request)

    def record_metric(self, kind: str, value_ms: float) -> None:
        """Store one measurement in the metrics table."""
        self._metric_requested.emit(kind, value_ms)

    @Slot(object)
    def _handle_scan(self, accepted: AcceptedCode) -> None:
        try:
            contact = self._pipeline.parse_code(accepted.code)
        except PayloadRejected as exc:
            log.info("Scanned code is not a contact: %s", exc.code)
            self.scan_ready.emit(ScanResult(accepted, None, exc))
            return
        except Exception:
            # A parser bug must not leave the window waiting for this result.
            log.exception("Parsing a scanned code failed")
            failure = PayloadRejected(
                PARSE_FAILED,
                "This code could not be read. Enter the details by hand.",
            )
            self.scan_ready.emit(ScanResult(accepted, None, failure))
            return
        fields = self._pipeline.fields_for(contact)
        result = ScanResult(accepted, contact, None, fields)
        try:
            result = self._with_duplicate(result)
        except Exception:
            # The form still opens; the operator just gets no duplicate prompt.
            log.exception("Duplicate look-up failed")
        self.scan_ready.emit(result)

    def _with_duplicate(self, result: ScanResult) -> ScanResult:
        store = self._runtime.store
        contact = result.contact
        assert contact is not None
        duplicate = store.find_duplicate(
            email=contact.dedup_key,
            badge_id=contact.badge_id,
            payload_text=result.payload_text,
        )
        if duplicate is None:
            return result
        existing = store.get_lead(duplicate.lead_id)
        log.debug("Scan matches lead %s", duplicate.lead_id)
        return ScanResult(
            result.accepted,
            contact,
            None,
            result.fields,
            duplicate,
            dict(existing.fields),
        )

    @Slot(object)
    def _handle_save(self, request: SaveRequest) -> None:
        try:
            if request.check_duplicate and request.lead_id is None:
                duplicate = self._find_duplicate(request.fields)
                if duplicate is not None:
                    self.duplicate_found.emit(request, duplicate)
                    return
            fields = request.fields
            if request.merge_existing and request.lead_id is not None:
                existing = self._runtime.store.get_lead(request.lead_id)
                fields = merge_fields(existing.fields, fields)
            saved = self._runtime.save_lead(
                fields, request.lead_id, payload_text=request.payload_text
            )
        except Exception as exc:
            log.exception("Saving a lead failed")
            self.save_failed.emit(
                f"The lead could not be saved ({type(exc).__name__}). "
                "Try again; if it keeps failing, call the staff."
            )
            return
        self.saved.emit(SaveResult(saved.lead_id, saved.revision, saved.captured_at))

    def _find_duplicate(self, fields: Mapping[str, Any]) -> Any:
        from kiosk.store.fields import email_key

        return self._runtime.store.find_duplicate(
            email=email_key(str(fields.get("email", ""))),
            badge_id=str(fields.get("badge_id", "")),
        )

    @Slot()
    def _quit_loop(self) -> None:
        self._thread.quit()

    @Slot(str, float)
    def _handle_metric(self, kind: str, value_ms: float) -> None:
        self._runtime.record_metric(kind, value_ms)
