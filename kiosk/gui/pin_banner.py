"""The "Set a staff PIN" banner, shown until a PIN exists."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QWidget

from kiosk.gui.form_fields import plain_label
from kiosk.pin import PinStore

PIN_CHECK_MS = 2000


class PinBanner(QFrame):
    """A banner with a "Set a staff PIN" button, hidden once a PIN is set.

    A timer re-reads the PIN store every ``PIN_CHECK_MS``, so a PIN set with
    ``kiosk set-pin`` in another terminal hides the banner of a running kiosk.

    Signals:
        set_requested: the button was clicked and still no PIN is set.
        found_set: the button was clicked but a PIN had been set elsewhere.
    """

    set_requested = Signal()
    found_set = Signal()

    def __init__(self, pin_store: PinStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pinBanner")
        self._pin_store = pin_store
        self.label = plain_label(
            "Set a staff PIN: until then anyone can leave the kiosk or open the "
            "staff panel.",
            "pinBannerText",
        )
        self.label.setWordWrap(True)
        self.set_pin_button = QPushButton("Set a staff PIN")
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.set_pin_button)
        self.check_timer = QTimer(self)
        self.check_timer.setInterval(PIN_CHECK_MS)
        self.check_timer.timeout.connect(self.refresh)
        self.set_pin_button.clicked.connect(self._on_clicked)

    @Slot()
    def refresh(self) -> None:
        """Show the banner only while no PIN is set."""
        self.setVisible(not self._pin_store.is_set())

    @Slot()
    def _on_clicked(self) -> None:
        self.refresh()
        if self._pin_store.is_set():
            self.found_set.emit()
        else:
            self.set_requested.emit()
