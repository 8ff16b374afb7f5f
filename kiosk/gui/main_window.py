"""The operator's kiosk window: scan, check the form, save, next visitor.

The window has three pages: the scanner, the duplicate prompt ("Already captured at
10:42") and the lead form. The staff panel replaces them, inside the same window, until
"Back to scanning" or Esc. Codes accepted while the operator is busy wait in a
:class:`~kiosk.gui.visitor_queue.VisitorQueue`. Camera, database and CRM work run in the
workers of :mod:`kiosk.gui.workers`; the GUI thread only paints and routes signals.
Leaving the kiosk and opening the staff panel need the staff PIN once one is set.

:mod:`kiosk.gui.main_view` builds the widgets and the status line, and
:mod:`kiosk.gui.visitor_flow` runs the scan to save flow. This module adds the workers,
the window's start and shutdown, the keyboard, the self-service idle clear and the staff
PIN.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from kiosk.capture.types import FrameSource
from kiosk.gui.duplicate_prompt import captured_time
from kiosk.gui.main_view import CHECKING, DUPLICATE, FORM, READY, SCANNER
from kiosk.gui.pin_dialog import SET, VERIFY, PinDialog
from kiosk.gui.scanner_view import ScanSound
from kiosk.gui.staff_host import STAFF_PANEL_MODULE
from kiosk.gui.status_bar import describe_sync
from kiosk.gui.visitor_flow import SAVED, Draft, VisitorFlow
from kiosk.gui.visitor_queue import VisitorQueue
from kiosk.gui.workers import (
    CaptureWorker,
    StoreWorker,
    SyncStatusPoller,
    SyncWorker,
)
from kiosk.pin import PinStore

log = logging.getLogger(__name__)

__all__ = [
    "CHECKING",
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

BUSY_WITH_VISITOR = "Finish or cancel this visitor first, then open the staff panel."

_ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.Wheel,
    }
)


class MainWindow(VisitorFlow):
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
        self.pin_dialog = None
        self.visitor_queue = VisitorQueue()
        self.draft = Draft()
        self._pending_save = None
        self._duplicate_summary = None
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

    def _connect(self) -> None:
        self.idle_timer.timeout.connect(self._on_idle)
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
        self._add_shortcut("Alt+S", self._on_staff_shortcut)
        self._add_shortcut("Alt+M", self._on_manual_shortcut)
        self.pin_banner.set_requested.connect(self.ask_new_pin)
        self.pin_banner.found_set.connect(self._on_pin_found_set)
        self.staff_page.back_requested.connect(self.close_staff_panel)

    def _add_shortcut(self, keys: str, slot: Any) -> None:
        # A window shortcut receives the key before the focused widget does, so it
        # never types a letter into the lead form.
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)

    @Slot()
    def _on_staff_shortcut(self) -> None:
        if not self.staff_open:
            self.open_staff_panel()

    @Slot()
    def _on_manual_shortcut(self) -> None:
        if not self.staff_open:
            self.start_manual_entry()

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
