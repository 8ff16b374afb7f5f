"""The staff PIN in the window: banner, setting it, the lock on leaving and staff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from kiosk.gui.pin_dialog import SET, VERIFY, PinDialog
from kiosk.pin import PinStore
from tests.gui.conftest import OpenKiosk


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


CHECK_TIMEOUT_MS = 5000


def _type_pin(qtbot: Any, dialog: PinDialog, pin: str) -> None:
    """Type ``pin``, press Enter and wait for the background check's result."""
    dialog.pin_edit.clear()
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(dialog.checked, timeout=CHECK_TIMEOUT_MS):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def _type_pin_while_locked(qtbot: Any, dialog: PinDialog, pin: str) -> None:
    dialog.pin_edit.clear()
    qtbot.keyClicks(dialog.pin_edit, pin)
    qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    assert not dialog.checking


def test_no_pin_shows_banner_and_leaves_freely(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = open_kiosk()
    assert window.pin_banner.isVisible()

    window.close()

    assert not window.isVisible()
    assert window.pin_dialog is None
    assert not window.capture_worker.is_running()


def test_set_pin_from_banner(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    window = open_kiosk()
    qtbot.mouseClick(window.set_pin_button, Qt.MouseButton.LeftButton)
    dialog = window.pin_dialog
    assert dialog is not None
    assert dialog.mode == SET

    qtbot.keyClicks(dialog.pin_edit, "2468")
    qtbot.keyClicks(dialog.repeat_edit, "2469")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.message_label.text() == "The two PINs differ. Type them again."
    assert not pin_store.is_set()
    qtbot.keyClicks(dialog.repeat_edit, "2468")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert pin_store.is_set()
    assert pin_store.verify("2468")
    assert window.pin_banner.isHidden()
    assert window.pin_dialog is None


def test_keypad_types_digits(qtbot: Any, pin_store: PinStore) -> None:
    dialog = PinDialog(pin_store, VERIFY)
    qtbot.addWidget(dialog)
    keys = {
        button.text(): button for button in dialog.findChildren(type(dialog.ok_button))
    }

    for key in ("1", "2", "3", "Del", "9"):
        qtbot.mouseClick(keys[key], Qt.MouseButton.LeftButton)

    assert dialog.pin_edit.text() == "129"
    qtbot.mouseClick(keys["Clear"], Qt.MouseButton.LeftButton)
    assert dialog.pin_edit.text() == ""


def test_leaving_needs_the_pin(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    pin_store.set_pin("4711")
    window = open_kiosk()
    assert window.pin_banner.isHidden()

    window.close()

    assert window.isVisible()
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    _type_pin(qtbot, dialog, "1111")
    assert dialog.message_label.text() == "Wrong PIN."
    assert window.isVisible()
    assert window.sync_worker.is_running()

    _type_pin(qtbot, dialog, "4711")

    assert not window.isVisible()
    assert not window.sync_worker.is_running()


def test_escape_on_scanner_asks_for_pin(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    pin_store.set_pin("4711")
    window = open_kiosk()

    qtbot.keyClick(window, Qt.Key.Key_Escape)

    assert window.isVisible()
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Escape)
    assert window.pin_dialog is None
    assert window.isVisible()


def test_wrong_pins_lock_the_dialog(
    open_kiosk: OpenKiosk, qtbot: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    store = PinStore(tmp_path / "locked-pin.json", environ={}, clock=clock)
    store.set_pin("4711")
    window = open_kiosk(store=store)
    window.close()
    dialog = window.pin_dialog
    assert dialog is not None

    for _ in range(3):
        _type_pin(qtbot, dialog, "0000")

    assert not dialog.ok_button.isEnabled()
    assert dialog.message_label.text() == "Too many wrong PINs. Try again in 5 s."
    _type_pin_while_locked(qtbot, dialog, "4711")
    assert window.isVisible()

    clock.now += 5.0
    qtbot.waitUntil(dialog.ok_button.isEnabled)
    _type_pin(qtbot, dialog, "4711")
    assert not window.isVisible()


def test_environment_pin_guards_the_window(
    open_kiosk: OpenKiosk, qtbot: Any, tmp_path: Path
) -> None:
    store = PinStore(tmp_path / "unused.json", environ={"KIOSK_PIN": "97531"})
    window = open_kiosk(store=store)
    assert window.pin_banner.isHidden()

    window.close()
    dialog = window.pin_dialog
    assert dialog is not None
    _type_pin(qtbot, dialog, "97531")

    assert not window.isVisible()


def test_staff_panel_opens_after_pin(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    pin_store.set_pin("4711")
    window = open_kiosk()

    qtbot.mouseClick(window.staff_button, Qt.MouseButton.LeftButton)
    assert window.staff_panel is None
    dialog = window.pin_dialog
    assert dialog is not None
    _type_pin(qtbot, dialog, "4711")

    panel = window.staff_panel
    assert panel is not None
    assert window.staff_open
    assert not panel.isWindow()
    assert window.back_button.isVisible()


def test_pin_check_leaves_gui_thread_free(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    pin_store.set_pin("4711")
    window = open_kiosk()
    window.close()
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, "1111")

    qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)

    # Enter returned before the result was known: the check runs on another thread.
    assert dialog.checking
    assert not dialog.ok_button.isEnabled()
    assert dialog.message_label.text() == "Checking..."
    with qtbot.waitSignal(dialog.checked, timeout=CHECK_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args == [False]
    assert dialog.message_label.text() == "Wrong PIN."


def test_banner_notices_pin_set_elsewhere(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    window = open_kiosk()
    assert window.pin_banner.isVisible()
    other_terminal = PinStore(pin_store.path, environ={})

    other_terminal.set_pin("4711")

    qtbot.waitUntil(window.pin_banner.isHidden, timeout=5000)


def test_banner_button_after_pin_set_elsewhere(
    open_kiosk: OpenKiosk, qtbot: Any, pin_store: PinStore
) -> None:
    window = open_kiosk()
    window.pin_check_timer.stop()
    PinStore(pin_store.path, environ={}).set_pin("4711")
    assert window.pin_banner.isVisible()

    qtbot.mouseClick(window.set_pin_button, Qt.MouseButton.LeftButton)

    assert window.pin_banner.isHidden()
    assert window.status_label.text() == "A staff PIN is already set."
    assert window.pin_dialog is None
