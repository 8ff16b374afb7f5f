"""The widgets of the kiosk window: header, pages, status line and staff host.

:class:`KioskView` builds and lays out the widgets, switches the scanner, duplicate
prompt and form pages, and owns the status line. It is the base class of
:class:`~kiosk.gui.main_window.MainWindow`, which sets the attributes declared at the
top of the class before it builds the widgets.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.capture.loop import STATUS_RECONNECTED
from kiosk.capture.types import FrameSource
from kiosk.config import Config
from kiosk.gui.duplicate_prompt import DuplicatePrompt
from kiosk.gui.elided_label import ElidedLabel
from kiosk.gui.form_fields import plain_label
from kiosk.gui.lead_form import LeadForm
from kiosk.gui.pin_banner import PinBanner
from kiosk.gui.pin_dialog import PinDialog
from kiosk.gui.scanner_view import ScannerView
from kiosk.gui.staff_host import StaffHost
from kiosk.gui.status_bar import StatusBar, describe_sync
from kiosk.gui.visitor_queue import VisitorQueue, describe_waiting
from kiosk.pin import PinStore

SCANNER = "scanner"
DUPLICATE = "duplicate"
FORM = "form"

READY = "Ready to scan"
CHECKING = "Checking the visitor's details"
NO_FRAMES = "No more camera frames: use manual entry"
MESSAGE_MS = 5000


class KioskView(QMainWindow):
    """The kiosk window's widgets and status line, without its workers.

    Not used on its own: :class:`~kiosk.gui.main_window.MainWindow` sets ``runtime``,
    ``config``, ``source``, ``pin_store``, ``pin_dialog``, ``visitor_queue`` and
    ``_base_status``, then calls ``_build_widgets``, ``_build_layout`` and
    ``_build_timers``.
    """

    runtime: Any
    config: Config
    source: FrameSource
    pin_store: PinStore
    pin_dialog: PinDialog | None
    visitor_queue: VisitorQueue
    _base_status: str
    _shut_down: bool

    # -- construction ---------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.pin_banner = PinBanner(self.pin_store)
        self.set_pin_button = self.pin_banner.set_pin_button
        self.pin_check_timer = self.pin_banner.check_timer

        self.event_label = ElidedLabel(
            self.config.kiosk.event or "Booth kiosk", "eventLabel"
        )
        self.waiting_label = ElidedLabel("", "waitingLabel")
        self.waiting_label.hide()
        # Alt+M and Alt+S are window shortcuts (see MainWindow), not mnemonics: a
        # disabled button's mnemonic lets the key through to the focused line edit.
        self.manual_button = QPushButton("Manual entry")
        self.manual_button.setObjectName("manualButton")
        self.manual_button.setToolTip("Alt+M")
        self.manual_button.setIcon(_icon("keyboard.svg"))
        self.staff_button = QPushButton("Staff")
        self.staff_button.setObjectName("staffButton")
        self.staff_button.setToolTip("Alt+S")
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
        """Show one page, with its status line, and arm the self-service idle timer.

        The status line reads :data:`CHECKING` on the duplicate prompt and the form
        and the scanner's status (:data:`READY` or a camera problem) on the scanner.
        A message already showing stays until its timer restores the page's status.
        """
        self.pages.setCurrentWidget(self._page_widgets[name])
        if not self._message_timer.isActive():
            self.status_label.setText(self._page_status())
        scanning = name == SCANNER
        self.manual_button.setEnabled(scanning)
        if self.config.kiosk.self_service and not scanning:
            self.idle_timer.start()
        else:
            self.idle_timer.stop()
        if scanning:
            self.scanner_view.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def staff_open(self) -> bool:
        """Is the staff panel showing in place of the scanner?"""
        return self.root.currentWidget() is self.staff_page

    def _modal_open(self) -> bool:
        dialog_open = self.pin_dialog is not None and self.pin_dialog.isVisible()
        return dialog_open or self.staff_open

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

    def _page_status(self) -> str:
        if self.page in (DUPLICATE, FORM):
            return CHECKING
        return self._base_status

    def _restore_status(self) -> None:
        self.status_label.setText(self._page_status())

    @Slot(object)
    def _on_sync_status(self, status: Any) -> None:
        self.sync_label.setText(describe_sync(status))

    @Slot(str)
    def _on_camera_status(self, text: str) -> None:
        self._base_status = text if text != STATUS_RECONNECTED else READY
        self.show_message(text)

    def _set_camera_text(self, text: str) -> None:
        self.camera_label.setText(text)

    @property
    def camera_text(self) -> str:
        """The camera line of the status bar, in full."""
        return self.camera_label.text()

    @Slot()
    def _on_capture_finished(self) -> None:
        if self._shut_down:
            return
        self._set_camera_text(f"Camera ended: {self.source.description}")
        self._base_status = NO_FRAMES
        self.scanner_view.placeholder = "No more frames from the camera."
        if self.page == SCANNER and not self._message_timer.isActive():
            self.status_label.setText(self._base_status)


def _icon(name: str) -> QIcon:
    from importlib import resources as importlib_resources

    resource = importlib_resources.files("resources").joinpath(f"icons/{name}")
    return QIcon(str(resource))
