"""Controls for the embedded demo CRM: take it offline, add errors or latency."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from kiosk.gui.staff.elided_label import ElidedLabel

logger = logging.getLogger(__name__)

ERROR_RATES = (0.0, 0.1, 0.3, 0.5, 1.0)


class DemoControls(QGroupBox):
    """Fault switches for the demo CRM, shown only when the kiosk started it itself.

    Each change goes through the server's ``set_faults``, so the sync engine meets the
    same failures it would meet over hall Wi-Fi.

    Signals:
        faults_changed(dict): the server's fault settings after a change.
    """

    faults_changed = Signal(dict)

    def __init__(self, server: Any, parent: QWidget | None = None) -> None:
        super().__init__("Demo CRM controls", parent)
        self._server = server
        self.offline_button = QPushButton()
        self.offline_button.setCheckable(True)
        self.error_rate = QComboBox()
        for rate in ERROR_RATES:
            self.error_rate.addItem(_rate_text(rate), rate)
        self.latency = QSpinBox()
        self.latency.setRange(0, 10_000)
        self.latency.setSingleStep(250)
        self.latency.setSuffix(" ms latency")
        self.latency.setKeyboardTracking(False)
        self.summary = ElidedLabel()
        layout = QHBoxLayout(self)
        for widget in (self.offline_button, self.error_rate, self.latency):
            layout.addWidget(widget)
        layout.addWidget(self.summary, 1)

        # The server keeps its faults while the staff panel is closed, so the
        # widgets start from them before any change can reach the server.
        faults = self._server.faults()
        self._show_controls(faults)
        self._show_faults(faults)
        self.offline_button.toggled.connect(self._on_offline_toggled)
        self.error_rate.currentIndexChanged.connect(self._on_error_rate_changed)
        self.latency.valueChanged.connect(self._on_latency_changed)

    def set_offline(self, offline: bool) -> None:
        """Take the demo CRM offline (every API request returns 503) or back."""
        self.offline_button.setChecked(offline)

    @Slot(bool)
    def _on_offline_toggled(self, offline: bool) -> None:
        self._show_offline_text(offline)
        self._apply(down=offline)

    def _show_offline_text(self, offline: bool) -> None:
        self.offline_button.setText("Bring CRM back" if offline else "Take CRM offline")

    def _show_controls(self, faults: dict[str, Any]) -> None:
        offline = bool(faults.get("down"))
        self.offline_button.setChecked(offline)
        self._show_offline_text(offline)

        rate = float(faults.get("error_rate") or 0.0)
        index = self.error_rate.findData(rate)
        if index < 0:
            self.error_rate.addItem(_rate_text(rate), rate)
            index = self.error_rate.count() - 1
        self.error_rate.setCurrentIndex(index)

        self.latency.setValue(int(faults.get("latency_ms") or 0))

    @Slot(int)
    def _on_error_rate_changed(self, _index: int) -> None:
        self._apply(error_rate=float(self.error_rate.currentData()))

    @Slot(int)
    def _on_latency_changed(self, value: int) -> None:
        self._apply(latency_ms=value)

    def _apply(self, **faults: Any) -> None:
        self._server.set_faults(**faults)
        logger.info("demo CRM faults changed: %s", faults)
        current = self._server.faults()
        self._show_faults(current)
        self.faults_changed.emit(dict(current))

    def _show_faults(self, faults: dict[str, Any]) -> None:
        parts = ["offline" if faults.get("down") else "online"]
        if faults.get("error_rate"):
            parts.append(f"{float(faults['error_rate']):.0%} errors")
        if faults.get("latency_ms"):
            parts.append(f"{int(faults['latency_ms'])} ms latency")
        self.summary.setText("Demo CRM: " + ", ".join(parts))


def _rate_text(rate: float) -> str:
    return f"{rate:.0%} errors"
