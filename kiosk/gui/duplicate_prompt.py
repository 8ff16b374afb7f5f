"""The duplicate prompt: "Already captured at 10:42" with Update and Keep both."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.gui.form_fields import plain_label

UPDATE_TEXT = "Update saves this scan as a new revision of that lead."
KEEP_BOTH_TEXT = "Keep both saves a second lead on this kiosk."
# AcmeCRM upserts contacts by email, so two local leads with one email end as one
# CRM contact; the prompt says so instead of promising two contacts.
KEEP_BOTH_SAME_EMAIL_TEXT = (
    "Keep both saves a second lead on this kiosk, but AcmeCRM merges leads with "
    "the same email into one contact."
)


def captured_time(summary: Any) -> str:
    """Return the local time of day a lead was captured, e.g. ``"10:42"``."""
    captured_at = summary.captured_at
    if captured_at.tzinfo is not None:
        captured_at = captured_at.astimezone()
    return str(captured_at.strftime("%H:%M"))


class DuplicatePrompt(QWidget):
    """The page shown when a scanned or typed visitor was captured before.

    The window connects ``update_button``, ``keep_both_button`` and ``cancel_button``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatePage")
        self.title = plain_label("", "duplicateTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = plain_label("", "duplicateDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.update_button = QPushButton("&Update")
        self.update_button.setObjectName("updateButton")
        self.keep_both_button = QPushButton("&Keep both")
        self.keep_both_button.setObjectName("keepBothButton")
        self.cancel_button = QPushButton("Cancel (Esc)")
        self._build_layout()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.cancel_button, self.keep_both_button, self.update_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addSpacing(24)
        layout.addLayout(buttons)
        layout.addStretch(2)

    def show_summary(self, summary: Any) -> None:
        """Fill the prompt with the earlier lead's time, name, email and company."""
        self.title.setText(f"Already captured at {captured_time(summary)}")
        name = " ".join(p for p in (summary.first_name, summary.last_name) if p)
        details = [part for part in (name, summary.email, summary.company) if part]
        same_email = getattr(summary, "matched_on", "") == "email"
        keep_both = KEEP_BOTH_SAME_EMAIL_TEXT if same_email else KEEP_BOTH_TEXT
        self.detail.setText("\n".join(details) + f"\n\n{UPDATE_TEXT} {keep_both}")
