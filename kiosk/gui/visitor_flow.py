"""One visitor at the kiosk: scan, duplicate prompt, form, save, next visitor.

:class:`VisitorFlow` routes the capture and store workers' signals through the pages of
:class:`~kiosk.gui.main_view.KioskView`. A code accepted while the operator is busy
waits in the window's :class:`~kiosk.gui.visitor_queue.VisitorQueue`. It is the base
class of :class:`~kiosk.gui.main_window.MainWindow`, which builds the workers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot

from kiosk.gui.duplicate_prompt import captured_time
from kiosk.gui.main_view import DUPLICATE, FORM, READY, SCANNER, KioskView
from kiosk.gui.scanner_view import ScanSound
from kiosk.gui.workers import (
    METRIC_SCAN_TO_FORM,
    CaptureWorker,
    SaveRequest,
    SaveResult,
    ScanResult,
    StoreWorker,
)
from kiosk.pipeline import merge_fields

log = logging.getLogger(__name__)

SAVED = "Saved, will sync"


@dataclass(frozen=True)
class Draft:
    """The lead on the form: where it came from and where it will be saved.

    Attributes:
        lead_id: the lead that gets a new revision, or ``None`` for a new lead.
        payload_text: the scanned payload, ``""`` for manual entry.
        check_duplicate: look for the visitor's earlier lead when saving (manual
            entry; a scan was checked when it arrived).
        scan: the scan the form came from, or ``None``.
    """

    lead_id: str | None = None
    payload_text: str = ""
    check_duplicate: bool = False
    scan: ScanResult | None = None


class VisitorFlow(KioskView):
    """The scan to save flow of the kiosk window.

    Not used on its own: :class:`~kiosk.gui.main_window.MainWindow` sets the workers,
    ``sound``, ``draft`` and the ``_pending_save``, ``_duplicate_summary``,
    ``_reading``, ``_scan_started_at`` and ``_saving`` state, and connects the
    signals to the ``_on_*`` slots here.
    """

    capture_worker: CaptureWorker
    store_worker: StoreWorker
    sound: ScanSound
    draft: Draft
    _pending_save: SaveRequest | None
    _duplicate_summary: Any
    _reading: bool
    _scan_started_at: float
    _saving: bool

    @Slot()
    def back_to_scanning(self) -> None:
        """Drop the lead on screen, return to the scanner and load a waiting code."""
        self.form.clear()
        self.draft = Draft()
        self._pending_save = None
        self._duplicate_summary = None
        self.form.save_button.setEnabled(True)
        self.show_page(SCANNER)
        self._schedule_next_visitor()

    @Slot()
    def start_manual_entry(self) -> None:
        """Open an empty form for a visitor without a readable code."""
        if self.page != SCANNER:
            return
        self.draft = Draft(check_duplicate=True)
        self.form.load(None, {})
        self.show_page(FORM)
        self.form.focus_first_field()

    # -- scanning -------------------------------------------------------------------

    @Slot()
    def _on_frame_ready(self) -> None:
        frame = self.capture_worker.take_frame()
        if frame is not None:
            self.scanner_view.show_frame(frame)

    @Slot(object)
    def _on_code_accepted(self, accepted: Any) -> None:
        self.sound.play()
        self.scanner_view.flash()
        if self._busy():
            current = self.draft.payload_text
            if self.visitor_queue.push(accepted, accepted.code.text, current):
                log.debug("Code accepted while busy; %d waiting", self.waiting_count)
            self._update_waiting()
            return
        self._read_code(accepted, accepted.accepted_at)

    def _busy(self) -> bool:
        return (
            self.page != SCANNER
            or self._reading
            or self._modal_open()
            or self.waiting_count > 0
        )

    def _read_code(self, accepted: Any, started_at: float) -> None:
        self._reading = True
        self._scan_started_at = started_at
        self.status_label.setText("Reading the code...")
        self.store_worker.submit_scan(accepted)

    def _schedule_next_visitor(self) -> None:
        if self.waiting_count:
            QTimer.singleShot(0, self._load_next_visitor)

    @Slot()
    def _load_next_visitor(self) -> None:
        if self._shut_down or self.page != SCANNER or self._reading:
            return
        if self._modal_open():
            return
        accepted = self.visitor_queue.pop()
        self._update_waiting()
        if accepted is not None:
            # Machine time starts now because the queue wait was the operator's.
            self._read_code(accepted, time.monotonic())

    @Slot(object)
    def _on_scan_ready(self, result: ScanResult) -> None:
        self._reading = False
        if self._shut_down:
            return
        if self.page != SCANNER:
            # Manual entry started while the code was read, so the visitor waits.
            self.visitor_queue.push(result.accepted, result.accepted.code.text)
            self._update_waiting()
            return
        if result.rejection is not None or result.contact is None:
            message = result.rejection.message if result.rejection else ""
            self.show_message(message or "This code holds no contact details.")
            self._schedule_next_visitor()
            return
        self.draft = Draft(payload_text=result.payload_text, scan=result)
        if result.duplicate is not None:
            self._show_duplicate(result.duplicate)
        else:
            self._open_scan_form(result, result.fields)
        self.status_label.setText(self._page_status())
        self._record_scan_to_form()

    def _record_scan_to_form(self) -> None:
        """Record the machine time from acceptance (or leaving the queue) to screen.

        Called once a scan, when the form or the duplicate prompt is first shown, so
        the operator's time on the prompt is never counted.
        """
        elapsed_ms = (time.monotonic() - self._scan_started_at) * 1000.0
        self.store_worker.record_metric(METRIC_SCAN_TO_FORM, elapsed_ms)

    def _open_scan_form(
        self, result: ScanResult, fields: Any, notice: str = ""
    ) -> None:
        self.form.load(result.contact, fields, notice)
        self.show_page(FORM)
        self.form.focus_first_field()

    # -- duplicates -----------------------------------------------------------------

    def _show_duplicate(self, summary: Any) -> None:
        self._duplicate_summary = summary
        self.duplicate_page.show_summary(summary)
        self.show_page(DUPLICATE)
        self.update_button.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def _on_update_chosen(self) -> None:
        summary = self._duplicate_summary
        if summary is None:
            return
        notice = f"Updating the lead captured at {captured_time(summary)}."
        if self._pending_save is not None:
            request = self._pending_save
            self._submit(
                SaveRequest(
                    request.fields,
                    summary.lead_id,
                    request.payload_text,
                    merge_existing=True,
                )
            )
            return
        scan = self.draft.scan
        assert scan is not None
        self.draft = Draft(summary.lead_id, scan.payload_text, scan=scan)
        fields = merge_fields(scan.existing_fields, scan.fields)
        self._open_scan_form(scan, fields, notice)

    @Slot()
    def _on_keep_both_chosen(self) -> None:
        if self._pending_save is not None:
            request = self._pending_save
            self._submit(SaveRequest(request.fields, None, request.payload_text))
            return
        scan = self.draft.scan
        assert scan is not None
        self.draft = Draft(None, scan.payload_text, scan=scan)
        self._open_scan_form(scan, scan.fields, "Saving as a second lead.")

    @Slot()
    def _on_duplicate_cancelled(self) -> None:
        if self._pending_save is not None:
            # Back to the form with the operator's typing intact.
            self._pending_save = None
            self.form.save_button.setEnabled(True)
            self.show_page(FORM)
            return
        self.back_to_scanning()

    @Slot(object, object)
    def _on_duplicate_on_save(self, request: SaveRequest, summary: Any) -> None:
        self._saving = False
        self._pending_save = request
        self._show_duplicate(summary)

    # -- saving ---------------------------------------------------------------------

    @Slot(dict)
    def _on_save_requested(self, fields: dict[str, Any]) -> None:
        if self._saving:
            log.debug("Save requested while a save is in progress; ignored")
            return
        draft = self.draft
        self._submit(
            SaveRequest(
                fields,
                draft.lead_id,
                draft.payload_text,
                check_duplicate=draft.check_duplicate,
            )
        )

    def _submit(self, request: SaveRequest) -> None:
        self._pending_save = None
        self._saving = True
        self.form.save_button.setEnabled(False)
        self.status_label.setText("Saving...")
        self.store_worker.submit_save(request)

    @Slot(object)
    def _on_saved(self, result: SaveResult) -> None:
        log.info("Lead %s revision %d saved", result.lead_id, result.revision)
        self._saving = False
        self.back_to_scanning()
        self._base_status = READY
        self.show_message(SAVED)

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self._saving = False
        self.form.save_button.setEnabled(True)
        if self.page == DUPLICATE:
            self.show_page(FORM)
        self.show_message(message)
