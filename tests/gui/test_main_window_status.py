"""The status line while a visitor is on the form or the duplicate prompt."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.capture.loop import STATUS_DISCONNECTED
from kiosk.gui.main_view import MESSAGE_MS, NO_FRAMES
from kiosk.gui.main_window import CHECKING, DUPLICATE, FORM, READY, SAVED, SCANNER
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000
EMAIL = "lia.mota@example.com"


def _wait_camera_ended(window: Any, qtbot: Any) -> None:
    # The folder camera ends after its last image and then changes the scanner's
    # status, so each test waits for that before it checks the status line.
    qtbot.waitUntil(
        lambda: window.camera_text.startswith("Camera ended"), timeout=SCAN_TIMEOUT_MS
    )


def test_manual_entry_shows_checking(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    _wait_camera_ended(window, qtbot)
    assert window.status_label.text() == NO_FRAMES

    window.start_manual_entry()

    assert window.page == FORM
    assert window.status_label.text() == CHECKING
    qtbot.keyClick(window.form.edits["email"], Qt.Key.Key_Escape)
    assert window.page == SCANNER
    assert window.status_label.text() == NO_FRAMES


def test_scanned_form_shows_checking(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk([vcard("Lia", "Mota", EMAIL)])

    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    _wait_camera_ended(window, qtbot)

    assert window.status_label.text() == CHECKING
    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    assert window.status_label.text() == SAVED
    window._restore_status()
    assert window.status_label.text() == READY


def test_duplicate_prompt_shows_checking(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    def save_earlier(runtime: Any) -> None:
        runtime.save_lead({"first_name": "Lia", "email": EMAIL})

    window = open_kiosk([vcard("Lia", "Mota", EMAIL)], before_start=save_earlier)
    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)
    _wait_camera_ended(window, qtbot)

    assert window.status_label.text() == CHECKING
    qtbot.mouseClick(window.duplicate_cancel_button, Qt.MouseButton.LeftButton)
    assert window.page == SCANNER
    assert window.status_label.text() == NO_FRAMES


def test_message_on_form_returns_to_checking(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    _wait_camera_ended(window, qtbot)
    window.start_manual_entry()

    window.capture_worker.status_changed.emit(STATUS_DISCONNECTED)
    qtbot.waitUntil(lambda: window.status_label.text() == STATUS_DISCONNECTED)
    qtbot.waitUntil(
        lambda: window.status_label.text() != STATUS_DISCONNECTED,
        timeout=MESSAGE_MS + SCAN_TIMEOUT_MS,
    )

    assert window.status_label.text() == CHECKING
    window.back_to_scanning()
    assert window.status_label.text() == STATUS_DISCONNECTED
