"""Staff dialogs: edit a lead that needs attention, and the CRM settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.gui.staff.jobs import BackgroundJob, ProgressCallback
from sync_daemon.connectors.acme import AcmeConnector
from sync_daemon.connectors.base import SyncError

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("title", "Job title"),
)


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class EditLeadDialog(QDialog):
    """Edit the contact fields of a stored lead; :meth:`fields` returns the result."""

    def __init__(
        self,
        fields: Mapping[str, Any],
        reason: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit lead")
        self._original = dict(fields)
        self.editors: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for name, label in EDITABLE_FIELDS:
            editor = QLineEdit(str(fields.get(name) or ""))
            editor.setObjectName(f"edit_{name}")
            self.editors[name] = editor
            form.addRow(label, editor)
        self.notes = QPlainTextEdit(str(fields.get("notes") or ""))
        form.addRow("Notes", self.notes)
        standard = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(standard.Save | standard.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if reason:
            layout.addWidget(_plain_label(reason))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def fields(self) -> dict[str, Any]:
        """Return the lead's fields with the edits applied."""
        updated = dict(self._original)
        for name, editor in self.editors.items():
            updated[name] = editor.text().strip()
        updated["notes"] = self.notes.toPlainText()
        return updated


@dataclass(frozen=True)
class ConnectionReport:
    """The outcome of a connection test: each step's result in plain words."""

    ok: bool
    lines: tuple[str, ...]


def check_connection(
    url: str,
    api_key: str,
    operator_email: str,
    timeout_s: float = 5.0,
    progress: ProgressCallback | None = None,
) -> ConnectionReport:
    """Check the CRM's health endpoint, then request a token with the given settings.

    It goes through the same connector the sync engine uses, so a passing test means
    the engine can sign in too. Blocks for up to twice ``timeout_s``: call it from a
    worker thread.
    """
    try:
        connector = AcmeConnector(
            url, api_key=api_key, operator_email=operator_email, timeout_s=timeout_s
        )
    except ValueError as exc:
        return ConnectionReport(False, (f"Invalid CRM address: {exc}",))
    lines: list[str] = []
    try:
        connector.health()
        lines.append("Health check: the CRM is up.")
        if progress is not None:
            progress(1, 2)
        connector.authenticate()
        lines.append("Sign-in: the CRM accepted the kiosk's credentials.")
        if progress is not None:
            progress(2, 2)
        return ConnectionReport(True, tuple(lines))
    except SyncError as exc:
        step = "Health check" if not lines else "Sign-in"
        lines.append(f"{step} failed: {exc}")
        return ConnectionReport(False, tuple(lines))
    finally:
        connector.close()


class CrmSettingsDialog(QDialog):
    """The CRM address and credentials, with a "Test connection" button.

    The test runs in a worker thread, so the window stays responsive while a
    distant CRM responds slowly.
    """

    def __init__(
        self,
        url: str,
        api_key: str = "",
        operator_email: str = "",
        note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("CRM settings")
        self.url = QLineEdit(url)
        self.api_key = QLineEdit(api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.operator_email = QLineEdit(operator_email)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._on_test_clicked)
        self.result_label = _plain_label()
        self.result_label.setObjectName("connectionResult")
        self.job: BackgroundJob | None = None
        form = QFormLayout()
        form.addRow("CRM address", self.url)
        form.addRow("API key", self.api_key)
        form.addRow("Operator email", self.operator_email)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if note:
            layout.addWidget(_plain_label(note))
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)

    @Slot()
    def _on_test_clicked(self) -> None:
        if self.job is not None and self.job.is_running():
            return
        url = self.url.text().strip()
        api_key = self.api_key.text()
        email = self.operator_email.text().strip()
        self.test_button.setEnabled(False)
        self.result_label.setText("Testing...")
        self.job = BackgroundJob(
            lambda progress: check_connection(url, api_key, email, progress=progress),
            self,
        )
        self.job.succeeded.connect(self._on_test_succeeded)
        self.job.failed.connect(self._on_test_failed)
        self.job.start()

    @Slot(object)
    def _on_test_succeeded(self, report: ConnectionReport) -> None:
        self.test_button.setEnabled(True)
        self.result_label.setText("\n".join(report.lines))

    @Slot(str)
    def _on_test_failed(self, message: str) -> None:
        self.test_button.setEnabled(True)
        self.result_label.setText(f"Test failed: {message}")

    def done(self, result: int) -> None:
        """Close the dialog once a running test has ended."""
        if self.job is not None:
            self.job.wait()
        super().done(result)
