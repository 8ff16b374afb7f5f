"""The staff panel inside the kiosk window, and a window that fits the screen."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from kiosk.gui import main_window
from kiosk.gui.main_window import BUSY_WITH_VISITOR, FORM, SCANNER
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000
LONG_TEXT = "No more camera frames from /media/usb/a/very/long/folder/name " * 8


def _open_staff(window: Any, qtbot: Any) -> QWidget:
    qtbot.mouseClick(window.staff_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.staff_open)
    panel = window.staff_panel
    assert panel is not None
    return panel


def test_back_button_returns_to_scanning(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    window.showFullScreen()
    panel = _open_staff(window, qtbot)
    assert not panel.isWindow()
    assert window.back_button.isVisible()

    qtbot.mouseClick(window.back_button, Qt.MouseButton.LeftButton)

    assert not window.staff_open
    assert window.staff_panel is None
    assert window.page == SCANNER
    assert window.scanner_view.isVisible()


def test_escape_closes_staff_panel(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    _open_staff(window, qtbot)
    focused = window.focusWidget()
    assert focused is not None

    qtbot.keyClick(focused, Qt.Key.Key_Escape)

    assert not window.staff_open
    assert window.isVisible()
    assert window.pin_dialog is None


def test_staff_during_form_explains(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk([vcard("Ana", "Lima", "ana.lima@example.com")])
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)

    qtbot.mouseClick(window.staff_button, Qt.MouseButton.LeftButton)

    assert window.status_label.text() == BUSY_WITH_VISITOR
    assert not window.staff_open
    assert window.pin_dialog is None


@pytest.mark.expected_log("kiosk.gui.staff_host")
def test_staff_load_error_is_named(
    open_kiosk: OpenKiosk, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_window, "STAFF_PANEL_MODULE", "kiosk.gui.no_such_panel")
    window = open_kiosk()

    qtbot.mouseClick(window.staff_button, Qt.MouseButton.LeftButton)

    assert window.status_label.text() == (
        "The staff panel failed to load: ModuleNotFoundError; see the log."
    )
    assert not window.staff_open


def _right_edge(widget: QWidget, window: QWidget) -> int:
    return widget.mapTo(window, QPoint(widget.width(), 0)).x()


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_long_status_keeps_window_width(
    open_kiosk: OpenKiosk, qtbot: Any, size: tuple[int, int]
) -> None:
    window = open_kiosk()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])

    window.show_message(LONG_TEXT)
    window._set_camera_text(f"Camera: {LONG_TEXT}")
    window.manual_button.click()
    assert window.page == FORM
    qtbot.wait(50)

    assert window.width() == size[0]
    assert window.status_label.text() == LONG_TEXT
    assert window.camera_text == f"Camera: {LONG_TEXT}"
    for button in (window.form.save_button, window.staff_button):
        assert button.isVisible()
        assert _right_edge(button, window) <= window.width()


def test_minimum_width_fits_small_screen(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    window.show_message(LONG_TEXT)
    window._set_camera_text(f"Camera: {LONG_TEXT}")

    assert window.minimumSizeHint().width() <= 1024
