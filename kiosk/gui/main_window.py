"""The operator's kiosk window: scan, check the form, save, next visitor.

The window has three pages: the scanner, the duplicate prompt ("Already captured at
10:42") and the lead form. The staff panel replaces them, inside the same window, until
"Back to scanning" or Esc. Codes accepted while the operator is busy wait in a
:class:`~kiosk.gui.visitor_queue.VisitorQueue`. Camera, database and CRM work run in the
workers of :mod:`kiosk.gui.workers`; the GUI thread only paints and routes signals.
Leaving the kiosk and opening the staff panel need the staff PIN once one is set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.capture.loop import STATUS_RECONNECTED
from kiosk.capture.types import FrameSource
from kiosk.gui.duplicate_prompt import DuplicatePrompt, captured_time
from kiosk.gui.elided_label import ElidedLabel
from kiosk.gui.form_fields import plain_label
from kiosk.gui.lead_form import LeadForm
from kiosk.gui.pin_banner import PinBanner
from kiosk.gui.pin_dialog import SET, VERIFY, PinDialog
from kiosk.gui.scanner_view import ScannerView, ScanSound
from kiosk.gui.staff_host import STAFF_PANEL_MODULE, StaffHost
from kiosk.gui.status_bar import StatusBar, describe_sync
from kiosk.gui.visitor_queue import VisitorQueue, describe_waiting
from kiosk.gui.workers import (
    METRIC_SCAN_TO_FORM,
    CaptureWorker,
    SaveRequest,
    SaveResult,
    ScanResult,
    StoreWorker,
    SyncStatusPoller,
    SyncWorker,
)
from kiosk.pin import PinStore
from kiosk.pipeline import merge_fields

log = logging.getLogger(__name__)

__all__ = [
    "DUPLICATE",
    "FORM",
    "READY",
    "SAVED",
    "SCANNER",
    "Draft",
    "MainWindow",
    "captured_time",
    "describe_sync",
]

SCANNER = "scanner"
DUPLICATE = "duplicate"
FORM = "form"

READY = "Ready to scan"
SAVED = "Saved, will sync"
BUSY_WITH_VISITOR = "Finish or cancel this visitor first, then open the staff panel."
MESSAGE_MS = 5000
_ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.Wheel,
    }
)


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


class MainWindow(QMainWindow):
    """The kiosk window, with its capture, store, sync and status workers.

    Args:
        runtime: the :class:`kiosk.runtime.Runtime`.
        source: the opened camera source; the window closes it on shutdown.
        pin_store: the staff PIN store.
    """

    def __init__(
        self,
        runtime: Any,
        source: FrameSource,
        pin_store: PinStore,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kioskWindow")
        self.setWindowTitle("Booth kiosk")
        self.runtime = runtime
        self.config = runtime.config
        self.source = source
        self.pin_store = pin_store
        self.pin_dialog: PinDialog | None = None
        self.visitor_queue = VisitorQueue()
        self.draft = Draft()
        self._pending_save: SaveRequest | None = None
        self._duplicate_summary: Any = None
        self._reading = False
        self._scan_started_at = 0.0
        self._saving = False
        self._close_allowed = False
        self._shut_down = False
        self._base_status = READY
        self._build_workers()
        self._build_widgets()
        self._build_layout()
        self._build_timers()
        self._connect()
        self._update_pin_banner()
        self.show_page(SCANNER)

    # -- construction ---------------------------------------------------------------

    def _build_workers(self) -> None:
        self.capture_worker = CaptureWorker(self.source, self.config.capture)
        self.store_worker = StoreWorker(self.runtime)
        self.sync_worker = SyncWorker(self.runtime.sync_engine)
        self.status_poller = SyncStatusPoller(self.runtime.sync_engine)
        self.sound = ScanSound(self)

    def _build_widgets(self) -> None:
        self.pin_banner = PinBanner(self.pin_store)
        self.set_pin_button = self.pin_banner.set_pin_button
        self.pin_check_timer = self.pin_banner.check_timer

        self.event_label = ElidedLabel(
            self.config.kiosk.event or "Booth kiosk", "eventLabel"
        )
        self.waiting_label = ElidedLabel("", "waitingLabel")
        self.waiting_label.hide()
        self.manual_button = QPushButton("&Manual entry")
        self.manual_button.setObjectName("manualButton")
        self.manual_button.setIcon(_icon("keyboard.svg"))
        self.staff_button = QPushButton("&Staff")
        self.staff_button.setObjectName("staffButton")
        self.staff_button.setIcon(_icon("lock.svg"))
        for button in (self.manual_button, self.staff_button):
            button.setIconSize(QSize(24, 24))

        self.scanner_view = ScannerView(mirror=self.config.capture.mirror_preview)
        self.scanner_hint = plain_label(
            "Hold the QR code on the badge or business card up to the camera.",
            "scannerHint",
        )
        self.scanner_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.form = LeadForm(self.config)
        self.duplicate_page = DuplicatePrompt()
        self.duplicate_title = self.duplicate_page.title
        self.duplicate_detail = self.duplicate_page.detail
        self.update_button = self.duplicate_page.update_button
        self.keep_both_button = self.duplicate_page.keep_both_button
        self.duplicate_cancel_button = self.duplicate_page.cancel_button

        self.status_bar = StatusBar(READY, self.runtime.crm_label)
        self.status_label = self.status_bar.status_label
        self.sync_label = self.status_bar.sync_label
        self.crm_label = self.status_bar.crm_label
        self.camera_label = self.status_bar.camera_label
        self._set_camera_text(f"Camera: {self.source.description}")

        self.staff_page = StaffHost()
        self.back_button = self.staff_page.back_button

    def _build_layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.event_label, 2)
        header.addWidget(self.waiting_label, 1)
        header.addWidget(self.manual_button)
        header.addWidget(self.staff_button)

        scanner_page = QWidget()
        scanner_layout = QVBoxLayout(scanner_page)
        scanner_layout.setContentsMargins(0, 0, 0, 0)
        scanner_layout.addWidget(self.scanner_view, 1)
        scanner_layout.addWidget(self.scanner_hint)

        self.pages = QStackedWidget()
        self._page_widgets = {
            SCANNER: scanner_page,
            DUPLICATE: self.duplicate_page,
            FORM: self.form,
        }
        for widget in self._page_widgets.values():
            self.pages.addWidget(widget)

        self.kiosk_page = QWidget()
        layout = QVBoxLayout(self.kiosk_page)
        layout.addWidget(self.pin_banner)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.status_bar)

        self.root = QStackedWidget()
        self.root.addWidget(self.kiosk_page)
        self.root.addWidget(self.staff_page)
        self.setCentralWidget(self.root)

    def _build_timers(self) -> None:
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.setInterval(MESSAGE_MS)
        self._message_timer.timeout.connect(self._restore_status)
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(int(self.config.kiosk.idle_clear_s * 1000))
        self.idle_timer.timeout.connect(self._on_idle)

    def _connect(self) -> None:
        self.capture_worker.frame_ready.connect(self._on_frame_ready)
        self.capture_worker.code_accepted.connect(self._on_code_accepted)
        self.capture_worker.status_changed.connect(self._on_camera_status)
        self.capture_worker.finished.connect(self._on_capture_finished)
        self.store_worker.scan_ready.connect(self._on_scan_ready)
        self.store_worker.duplicate_found.connect(self._on_duplicate_on_save)
        self.store_worker.saved.connect(self._on_saved)
        self.store_worker.save_failed.connect(self._on_save_failed)
        self.status_poller.status_changed.connect(self._on_sync_status)
        self.form.save_requested.connect(self._on_save_requested)
        self.form.cancelled.connect(self.back_to_scanning)
        self.update_button.clicked.connect(self._on_update_chosen)
        self.keep_both_button.clicked.connect(self._on_keep_both_chosen)
        self.duplicate_cancel_button.clicked.connect(self._on_duplicate_cancelled)
        self.manual_button.clicked.connect(self.start_manual_entry)
        self.staff_button.clicked.connect(self.open_staff_panel)
        self.pin_banner.set_requested.connect(self.ask_new_pin)
        self.pin_banner.found_set.connect(self._on_pin_found_set)
        self.staff_page.back_requested.connect(self.close_staff_panel)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the camera, store, sync and status workers."""
        self.store_worker.start()
        self.sync_worker.start()
        self.status_poller.start()
        self.capture_worker.start()
        self.pin_check_timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        log.info("Kiosk window started; camera: %s", self.source.description)

    def shutdown(self) -> None:
        """Stop every worker and timer and close the camera; safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        for timer in (self._message_timer, self.idle_timer, self.pin_check_timer):
            timer.stop()
        self.scanner_view.stop()
        if self.pin_dialog is not None:
            self.pin_dialog.done(0)
        self.staff_page.unload()
        self.visitor_queue.clear()
        self.capture_worker.stop()
        self.status_poller.stop()
        self.sync_worker.stop()
        self.store_worker.stop()
        self.source.close()
        log.info("Kiosk window stopped")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_allowed or not self.pin_store.is_set():
            self.shutdown()
            event.accept()
            return
        event.ignore()
        self._ask_pin("Enter the staff PIN to leave the kiosk.", self._leave)

    def _leave(self) -> None:
        self._close_allowed = True
        self.close()

    def close_without_pin(self) -> None:
        """Close the window and stop its workers, skipping the PIN (process signals)."""
        self._leave()

    # -- pages ----------------------------------------------------------------------

    @property
    def page(self) -> str:
        """The page showing now: ``"scanner"``, ``"duplicate"`` or ``"form"``."""
        current = self.pages.currentWidget()
        for name, widget in self._page_widgets.items():
            if widget is current:
                return name
        return ""

    def show_page(self, name: str) -> None:
        """Show one page and arm the self-service idle timer off the scanner."""
        self.pages.setCurrentWidget(self._page_widgets[name])
        scanning = name == SCANNER
        self.manual_button.setEnabled(scanning)
        if self.config.kiosk.self_service and not scanning:
            self.idle_timer.start()
        else:
            self.idle_timer.stop()
        if scanning:
            self.scanner_view.setFocus(Qt.FocusReason.OtherFocusReason)

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

    # -- status line ----------------------------------------------------------------

    @property
    def waiting_count(self) -> int:
        """The number of scanned codes waiting for the form."""
        return len(self.visitor_queue)

    def _update_waiting(self) -> None:
        text = describe_waiting(len(self.visitor_queue))
        self.waiting_label.setText(text)
        self.waiting_label.setVisible(bool(text))

    def show_message(self, text: str) -> None:
        """Show a message in the status line for a few seconds."""
        self.status_label.setText(text)
        self._message_timer.start()

    def _restore_status(self) -> None:
        self.status_label.setText(self._base_status)

    @Slot(object)
    def _on_sync_status(self, status: Any) -> None:
        self.sync_label.setText(describe_sync(status))

    @Slot(str)
    def _on_camera_status(self, text: str) -> None:
        self._base_status = text if text != STATUS_RECONNECTED else READY
        self.show_message(text)

    def _set_camera_text(self, text: str) -> None:
        self.camera_label.setText(text)

    @Slot()
    def _on_capture_finished(self) -> None:
        if self._shut_down:
            return
        self._set_camera_text(f"Camera ended: {self.source.description}")
        self._base_status = "No more camera frames: use manual entry"
        self.scanner_view.placeholder = "No more frames from the camera."
        if self.page == SCANNER and not self._message_timer.isActive():
            self.status_label.setText(self._base_status)

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

    @property
    def camera_text(self) -> str:
        """The camera line of the status bar, in full."""
        return self.camera_label.text()

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
        self.status_label.setText(self._base_status)
        self.draft = Draft(payload_text=result.payload_text, scan=result)
        if result.duplicate is not None:
            self._show_duplicate(result.duplicate)
        else:
            self._open_scan_form(result, result.fields)
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

    # -- self-service ---------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY_EVENTS and self.idle_timer.isActive():
            self.idle_timer.start()
        return False

    @Slot()
    def _on_idle(self) -> None:
        if self.page == SCANNER:
            return
        log.info(
            "Form cleared after %.0f s without input", self.config.kiosk.idle_clear_s
        )
        self.back_to_scanning()
        self.show_message("Cleared for the next visitor.")

    # -- keyboard -------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self.staff_open and key == Qt.Key.Key_Escape:
            self.close_staff_panel()
        elif self.page == SCANNER and key == Qt.Key.Key_Escape:
            self.close()
        elif self.page == DUPLICATE and key == Qt.Key.Key_Escape:
            self._on_duplicate_cancelled()
        elif self.page == DUPLICATE and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = QApplication.focusWidget()
            if isinstance(focused, QPushButton) and focused.isVisible():
                focused.click()
            else:
                self.update_button.click()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- staff PIN ------------------------------------------------------------------

    def _modal_open(self) -> bool:
        dialog_open = self.pin_dialog is not None and self.pin_dialog.isVisible()
        return dialog_open or self.staff_open

    def _update_pin_banner(self) -> None:
        self.pin_banner.refresh()

    @Slot()
    def _on_pin_found_set(self) -> None:
        self.show_message("A staff PIN is already set.")

    def _ask_pin(self, prompt: str, on_accepted: Any) -> None:
        if self.pin_dialog is not None and self.pin_dialog.isVisible():
            self.pin_dialog.raise_()
            return
        if not self.pin_store.is_set():
            on_accepted()
            return
        self.pin_dialog = PinDialog(self.pin_store, VERIFY, prompt, self)
        self.pin_dialog.accepted.connect(on_accepted)
        self.pin_dialog.finished.connect(self._on_pin_dialog_finished)
        self.pin_dialog.open()

    @Slot()
    def ask_new_pin(self) -> None:
        """Open the dialog that sets the first staff PIN."""
        if self.pin_store.is_set() or self._modal_open():
            return
        self.pin_dialog = PinDialog(
            self.pin_store,
            SET,
            "Choose a staff PIN of 4 to 12 digits. It guards leaving the kiosk "
            "and the staff panel.",
            self,
        )
        self.pin_dialog.accepted.connect(self._on_pin_set)
        self.pin_dialog.finished.connect(self._on_pin_dialog_finished)
        self.pin_dialog.open()

    def _on_pin_set(self) -> None:
        self._update_pin_banner()
        self.show_message("Staff PIN set.")

    def _on_pin_dialog_finished(self, _result: int) -> None:
        dialog = self.pin_dialog
        self.pin_dialog = None
        if dialog is not None:
            dialog.deleteLater()
        if self.page == SCANNER:
            self._schedule_next_visitor()

    @property
    def staff_open(self) -> bool:
        """Is the staff panel showing in place of the scanner?"""
        return self.root.currentWidget() is self.staff_page

    @Slot()
    def open_staff_panel(self) -> None:
        """Ask for the PIN, then show the staff panel in this window."""
        if self.page != SCANNER:
            self.show_message(BUSY_WITH_VISITOR)
            return
        self._ask_pin("Enter the staff PIN to open the staff panel.", self._show_staff)

    @property
    def staff_panel(self) -> QWidget | None:
        """The staff panel while it is loaded, else None."""
        return self.staff_page.panel

    def _show_staff(self) -> None:
        error = self.staff_page.load(self.runtime, self.sync_worker, STAFF_PANEL_MODULE)
        if error:
            self.show_message(error)
            return
        self.root.setCurrentWidget(self.staff_page)
        self.back_button.setFocus(Qt.FocusReason.OtherFocusReason)
        log.info("Staff panel opened")

    @Slot()
    def close_staff_panel(self) -> None:
        """Close the staff panel and return to scanning (Back button or Esc)."""
        if not self.staff_open:
            return
        self.staff_page.unload()
        self.root.setCurrentWidget(self.kiosk_page)
        self.show_page(self.page or SCANNER)
        log.info("Staff panel closed")
        if self.page == SCANNER:
            self._schedule_next_visitor()


def _icon(name: str) -> QIcon:
    from importlib import resources as importlib_resources

    resource = importlib_resources.files("resources").joinpath(f"icons/{name}")
    return QIcon(str(resource))
