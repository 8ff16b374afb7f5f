"""Staff dialogs: edit a lead that needs attention, and the CRM connection test."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QShowEvent
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

from kiosk.config import default_config_path
from kiosk.contacts.normalize import normalize_email
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
    """Edit the contact fields of a stored lead; :meth:`fields` returns the result.

    An email the parser would reject (``kiosk.contacts.normalize.normalize_email``)
    is reported under the field, and the first Save only shows why. Pressing Save
    again saves anyway, as the scan form does, and the lead then goes back to
    needing attention once AcmeCRM rejects it.
    """

    def __init__(
        self,
        fields: Mapping[str, Any],
        reason: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit lead")
        self._original = dict(fields)
        self._warned_email: str | None = None
        self.editors: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for name, label in EDITABLE_FIELDS:
            editor = QLineEdit(str(fields.get(name) or ""))
            editor.setObjectName(f"edit_{name}")
            self.editors[name] = editor
            form.addRow(label, editor)
            if name == "email":
                self.email_problem = _plain_label()
                self.email_problem.setObjectName("emailProblem")
                self.email_problem.setStyleSheet("color:#b3261e;")
                self.email_problem.hide()
                form.addRow("", self.email_problem)
        self.notes = QPlainTextEdit(str(fields.get("notes") or ""))
        form.addRow("Notes", self.notes)
        standard = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(standard.Save | standard.Cancel)
        self.buttons.accepted.connect(self.request_save)
        self.buttons.rejected.connect(self.reject)
        self.editors["email"].textChanged.connect(self._on_email_changed)
        layout = QVBoxLayout(self)
        if reason:
            layout.addWidget(_plain_label(reason))
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def email_problem_text(self) -> str:
        """Return why AcmeCRM would reject the email as typed, or ``""``."""
        email = self.editors["email"].text().strip()
        if not email:
            return "The email is missing, and AcmeCRM requires one."
        if normalize_email(email) is None:
            return f"{email!r} is not a valid email address."
        return ""

    @Slot()
    def request_save(self) -> None:
        """Save, or first show why the email is invalid; a second Save saves anyway."""
        problem = self.email_problem_text()
        email = self.editors["email"].text().strip()
        if problem and self._warned_email != email:
            self._warned_email = email
            self.email_problem.setText(
                problem + " Correct it, or press Save again to save anyway: the lead "
                "then waits here as needing attention."
            )
            self.email_problem.show()
            _fit_height(self)
            self.editors["email"].setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.accept()

    @Slot(str)
    def _on_email_changed(self, _text: str) -> None:
        self._warned_email = None
        self.email_problem.hide()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        _fit_height(self)

    def fields(self) -> dict[str, Any]:
        """Return the lead's fields with the edits applied.

        A valid email is returned normalised as the parser stores it (domain in
        lower case); an invalid one is returned as typed.
        """
        updated = dict(self._original)
        for name, editor in self.editors.items():
            updated[name] = editor.text().strip()
        updated["email"] = normalize_email(updated["email"]) or updated["email"]
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


def probe_health(url: str, timeout_s: float = 2.0) -> bool:
    """Check whether the CRM at ``url`` passes its health check now.

    Uses a connector of its own, so the check is not counted in the kiosk's CRM
    request metrics. Blocks for up to ``timeout_s``: call it from a worker thread.
    """
    try:
        connector = AcmeConnector(url, timeout_s=timeout_s)
    except ValueError:
        return False
    try:
        connector.health()
    except SyncError:
        return False
    finally:
        connector.close()
    return True


class CrmSettingsDialog(QDialog):
    """The CRM address and credentials in use, with a "Test connection" button.

    The dialog saves nothing, because the settings come from the ``[crm]`` section
    of the configuration file, which it names. Edited values are used only for the
    test. The test runs in a worker thread, so the window stays responsive while a
    distant CRM responds slowly.
    """

    def __init__(
        self,
        url: str,
        api_key: str = "",
        operator_email: str = "",
        note: str = "",
        parent: QWidget | None = None,
        *,
        config_path: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("CRM connection test")
        self.setMinimumWidth(520)
        self.url = QLineEdit(url)
        self.api_key = QLineEdit(api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.operator_email = QLineEdit(operator_email)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._on_test_clicked)
        self.result_label = _plain_label()
        self.result_label.setObjectName("connectionResult")
        self.source_label = _plain_label(_source_text(config_path))
        self.source_label.setObjectName("settingsSource")
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
        layout.addWidget(self.source_label)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
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
        _fit_height(self)

    @Slot(str)
    def _on_test_failed(self, message: str) -> None:
        self.test_button.setEnabled(True)
        self.result_label.setText(f"Test failed: {message}")
        _fit_height(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        _fit_height(self)

    def done(self, result: int) -> None:
        """Close the dialog once a running test has ended."""
        if self.job is not None:
            self.job.wait()
        super().done(result)


def _fit_height(dialog: QDialog) -> None:
    """Make ``dialog`` tall enough for its wrapped labels at its current width.

    A window's minimum size ignores the extra height that word-wrapped labels need
    at a given width, so without this a long message is drawn over the fields.
    """
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    height = layout.totalMinimumSize().height()
    if layout.hasHeightForWidth():
        height = max(height, layout.totalHeightForWidth(dialog.width()))
    dialog.setMinimumHeight(height)
    if dialog.height() < height:
        dialog.resize(dialog.width(), height)


def _source_text(config_path: str) -> str:
    where = config_path or f"--config FILE, else {default_config_path()}"
    return (
        "The kiosk reads these settings from the [crm] section of its configuration "
        f"file ({where}) at start. This dialog does not save them: edit that file "
        "and restart the kiosk. Values changed here are used only for the test."
    )
