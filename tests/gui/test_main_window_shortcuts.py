"""Alt+S and Alt+M act on the window and never type into the lead form."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.gui.main_window import BUSY_WITH_VISITOR, FORM, SCANNER
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000


def _form_with_focused_name(open_kiosk: OpenKiosk, qtbot: Any) -> Any:
    window = open_kiosk([vcard("José", "Lima", "jose.lima@example.com")])
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    edit = window.form.edits["first_name"]
    edit.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(edit.hasFocus)
    return window


def test_alt_s_in_form_field_types_nothing(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = _form_with_focused_name(open_kiosk, qtbot)
    edit = window.form.edits["first_name"]

    qtbot.keyClick(edit, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)

    assert edit.text() == "José"
    assert window.status_label.text() == BUSY_WITH_VISITOR
    assert not window.staff_open
    assert window.pin_dialog is None


def test_alt_m_in_form_field_types_nothing(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = _form_with_focused_name(open_kiosk, qtbot)
    edit = window.form.edits["first_name"]

    qtbot.keyClick(edit, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)

    assert edit.text() == "José"
    assert window.page == FORM


def test_alt_s_on_scanner_opens_staff(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    assert window.page == SCANNER

    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)

    qtbot.waitUntil(lambda: window.staff_open)


def test_alt_m_on_scanner_opens_form(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()

    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)

    qtbot.waitUntil(lambda: window.page == FORM)
