"""The kiosk's status bar: the message line, sync state, CRM and camera."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QSizePolicy, QWidget

from kiosk.gui.elided_label import ElidedLabel


def describe_sync(status: Any) -> str:
    """Return the status line's sync part for an ``EngineStatus``."""
    stats = status.stats
    waiting = stats.pending + stats.in_flight + stats.retry_wait
    attention = (
        f", {stats.needs_attention} need attention" if stats.needs_attention else ""
    )
    if status.paused:
        return f"Sync paused: {waiting} waiting{attention}"
    if waiting == 0:
        return f"All leads synced{attention}"
    if status.reachable is False:
        return f"Offline: {waiting} waiting{attention}"
    return f"Syncing: {waiting} waiting{attention}"


class StatusBar(QFrame):
    """One row of labels that shorten their text, so the window never widens.

    Attributes:
        status_label: the message line ("Ready to scan", "Saved, will sync").
        sync_label: the sync state from :func:`describe_sync`.
        crm_label: which CRM the kiosk sends to.
        camera_label: the camera source, shortened in the middle.
    """

    def __init__(self, status: str, crm: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.status_label = ElidedLabel(status, "statusLabel")
        self.sync_label = ElidedLabel("Sync: starting", "syncLabel")
        self.crm_label = ElidedLabel(crm, "crmLabel")
        self.camera_label = ElidedLabel("", "cameraLabel", Qt.TextElideMode.ElideMiddle)
        # The short labels keep their full width while it fits; the message line and
        # the camera share what is left and shorten their text.
        for label in (self.sync_label, self.crm_label):
            label.setSizePolicy(
                QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred
            )
        layout = QHBoxLayout(self)
        layout.addWidget(self.status_label, 3)
        layout.addWidget(self.sync_label)
        layout.addWidget(self.crm_label)
        layout.addWidget(self.camera_label, 2)
