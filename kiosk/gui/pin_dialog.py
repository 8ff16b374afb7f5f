"""The staff PIN dialog: check the PIN, or set a new one, with a touch keypad."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.gui.form_fields import plain_label
from kiosk.pin import MAX_PIN_LENGTH, PinError, PinLocked, PinStore, check_pin_rules

log = logging.getLogger(__name__)

VERIFY = "verify"
SET = "set"
KEYPAD_ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("Clear", "0", "Del"))
CHECK_POLL_MS = 15

# Serialises scrypt checks, so two dialogs never update the attempt count at once.
_check_lock = threading.Lock()


def _start_check(store: PinStore, pin: str) -> Future[bool]:
    """Run ``store.verify(pin)`` (55 to 120 ms of scrypt) on a short-lived thread.

    The thread is a daemon, so a check still running at exit does not keep the
    process alive.
    """
    future: Future[bool] = Future()

    def run() -> None:
        with _check_lock:
            try:
                future.set_result(store.verify(pin))
            except BaseException as exc:  # delivered to the dialog by the future
                future.set_exception(exc)

    threading.Thread(target=run, name="pin-check", daemon=True).start()
    return future


class PinDialog(QDialog):
    """Asks for the staff PIN, or for a new PIN twice.

    Open it with ``open()`` and listen to ``accepted``: it is emitted only after the
    right PIN (``verify`` mode) or after a new PIN was stored (``set`` mode). Wrong
    PINs count towards the store's lock; while locked, OK stays disabled and a
    countdown shows. The scrypt check runs on a background thread.

    Signals:
        checked: emitted with the result after each PIN check in ``verify`` mode.

    Args:
        store: the PIN store.
        mode: ``"verify"`` or ``"set"``.
        prompt: what the PIN unlocks, e.g. "Enter the staff PIN to leave the kiosk."
    """

    checked = Signal(bool)

    def __init__(
        self,
        store: PinStore,
        mode: str = VERIFY,
        prompt: str = "Enter the staff PIN.",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pinDialog")
        self.setWindowTitle("Staff PIN" if mode == VERIFY else "Set a staff PIN")
        self.setModal(True)
        self._store = store
        self.mode = mode
        self.prompt_label = plain_label(prompt, "pinPrompt")
        self.prompt_label.setWordWrap(True)
        self.pin_edit = self._pin_edit("PIN")
        self.repeat_edit = self._pin_edit("Repeat the PIN")
        self.repeat_edit.setVisible(mode == SET)
        self.message_label = plain_label("", "pinMessage")
        self.message_label.setWordWrap(True)
        self.ok_button = QPushButton("OK")
        self.ok_button.setObjectName("pinOkButton")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self._lock_timer = QTimer(self)
        self._lock_timer.setInterval(250)
        self._lock_timer.timeout.connect(self._update_lock)
        self._check: Future[bool] | None = None
        self._check_timer = QTimer(self)
        self._check_timer.setInterval(CHECK_POLL_MS)
        self._check_timer.timeout.connect(self._poll_check)
        self._build_layout()
        self._update_lock()

    def _pin_edit(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setPlaceholderText(placeholder)
        edit.setMaxLength(MAX_PIN_LENGTH)
        edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d*"), edit))
        edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        edit.setObjectName("pinEdit")
        return edit

    def _build_layout(self) -> None:
        keypad = QGridLayout()
        for row, keys in enumerate(KEYPAD_ROWS):
            for column, key in enumerate(keys):
                button = QPushButton(key)
                button.setObjectName("keypadButton")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                button.setAutoDefault(False)
                button.clicked.connect(
                    lambda _checked=False, key=key: self._on_key(key)
                )
                keypad.addWidget(button, row, column)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.ok_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt_label)
        layout.addWidget(self.pin_edit)
        layout.addWidget(self.repeat_edit)
        layout.addLayout(keypad)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)

    def submit(self) -> None:
        """Check or store the typed PIN (OK or Enter)."""
        if self.mode == SET:
            self._submit_new_pin()
        else:
            self._submit_pin()

    @property
    def checking(self) -> bool:
        """Is a PIN check running on the background thread?"""
        return self._check is not None

    def _submit_pin(self) -> None:
        if self._check is not None:
            return
        self.ok_button.setEnabled(False)
        self.message_label.setText("Checking...")
        self._check = _start_check(self._store, self.pin_edit.text())
        self._check_timer.start()

    def _poll_check(self) -> None:
        check = self._check
        if check is None or not check.done():
            return
        self._check_timer.stop()
        self._check = None
        self.message_label.setText("")
        self.ok_button.setEnabled(True)
        try:
            right = check.result()
        except PinLocked:
            self._update_lock()
            self.checked.emit(False)
            return
        except PinError as exc:
            self.message_label.setText(str(exc))
            self.checked.emit(False)
            return
        self.checked.emit(right)
        if right:
            self.accept()
            return
        self.pin_edit.clear()
        self.message_label.setText("Wrong PIN.")
        self._update_lock()

    def _submit_new_pin(self) -> None:
        pin = self.pin_edit.text()
        try:
            check_pin_rules(pin)
            if pin != self.repeat_edit.text():
                self.message_label.setText("The two PINs differ. Type them again.")
                self.repeat_edit.clear()
                return
            self._store.set_pin(pin)
        except PinError as exc:
            self.message_label.setText(str(exc))
            return
        self.accept()

    def _on_key(self, key: str) -> None:
        edit = self.repeat_edit if self.repeat_edit.hasFocus() else self.pin_edit
        if key == "Clear":
            edit.clear()
        elif key == "Del":
            edit.backspace()
        elif len(edit.text()) < MAX_PIN_LENGTH:
            edit.insert(key)

    def _update_lock(self) -> None:
        remaining = self._store.retry_after()
        locked = remaining > 0
        self.ok_button.setEnabled(not locked and self._check is None)
        if locked:
            self.message_label.setText(str(PinLocked(remaining)))
            if not self._lock_timer.isActive():
                self._lock_timer.start()
        elif self._lock_timer.isActive():
            self._lock_timer.stop()
            self.message_label.setText("")

    def done(self, result: int) -> None:
        """Close the dialog and stop its timers; a running check still counts."""
        self._lock_timer.stop()
        self._check_timer.stop()
        self._check = None
        super().done(result)
