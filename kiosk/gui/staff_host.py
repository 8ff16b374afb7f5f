"""The page that shows the staff panel inside the kiosk window.

The kiosk runs full screen, often on an X server without a window manager, where a
second top-level window cannot be closed. So the panel is a page of the kiosk window
with its own "Back to scanning" button and Esc shortcut.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

STAFF_PANEL_MODULE = "kiosk.gui.staff.staff_panel"


class StaffHost(QWidget):
    """A page with one staff panel, in a scroll area so it never widens the window.

    Signals:
        back_requested: the Back button was clicked or Esc pressed.
    """

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("staffPage")
        self.panel: QWidget | None = None
        self.back_button = QPushButton("Back to scanning (Esc)")
        self.back_button.setObjectName("backButton")
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.scroll_area, 1)
        self.back_button.clicked.connect(self.back_requested)
        shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.back_requested)

    def load(self, runtime: Any, sync_worker: Any, module_name: str) -> str:
        """Build the staff panel unless one is loaded; return an error message or "".

        Any exception from importing or building the panel is logged with its
        traceback, and the message names its type.
        """
        if self.panel is not None:
            return ""
        try:
            module = importlib.import_module(module_name)
            panel: QWidget = module.StaffPanel(runtime, sync_worker)
        except Exception as exc:
            log.exception("Staff panel %s failed to load", module_name)
            return f"The staff panel failed to load: {type(exc).__name__}; see the log."
        self.panel = panel
        self.scroll_area.setWidget(panel)
        return ""

    def unload(self) -> None:
        """Stop the panel's timers and workers and delete it."""
        panel = self.panel
        self.panel = None
        if panel is None:
            return
        self.scroll_area.takeWidget()
        shutdown = getattr(panel, "shutdown", None)
        if shutdown is not None:
            shutdown()
        panel.deleteLater()
