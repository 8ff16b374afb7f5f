"""The lead form: the scanned contact pre-filled, checked as the operator types.

Every widget that shows text from a payload is a plain-text widget (QLineEdit,
QPlainTextEdit) or a QLabel set to ``Qt.PlainText``, so markup such as ``<b>`` or
``<img src=...>`` in a visitor's card is shown as typed, never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import Config
from kiosk.contacts.model import Contact
from kiosk.contacts.normalize import CRM_LIMITS, normalize_email, normalize_phone
from kiosk.gui.form_fields import (
    FIELD_LABELS,
    LIST_FIELDS,
    MORE_FIELDS,
    PRIMARY_FIELDS,
    ChoiceButtons,
    FieldSpec,
    QuestionInput,
    plain_label,
    utc_now_iso,
)


class LeadForm(QWidget):
    """The contact form with inline checks, booth fields and the save warning.

    Enter saves and Escape cancels. When AcmeCRM would reject the lead (no valid email,
    a value over its limit), the first Enter shows why, with a "Save anyway" button.
    A second Enter or that button saves the lead anyway. It then waits in the staff
    panel as needing attention.

    Signals:
        save_requested(dict): the lead fields to save.
        cancelled(): the operator cancelled; nothing is saved.
    """

    save_requested = Signal(dict)
    cancelled = Signal()

    def __init__(self, config: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadForm")
        self._config = config
        self._self_service = config.kiosk.self_service
        self._base: dict[str, Any] = {}
        self._parser_warnings: dict[str, list[str]] = {}
        self._edited: set[str] = set()
        self._consent_at = ""
        self._loading = False
        self.edits: dict[str, QLineEdit] = {}
        self.warnings: dict[str, QLabel] = {}
        self._build()
        self.clear()

    # -- building -------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = plain_label("Check the visitor's details", "formHeading")
        self.notice = plain_label("", "formNotice")
        self.notice.setWordWrap(True)
        content = QWidget()
        content.setObjectName("formContent")
        self._content = content
        body = QVBoxLayout(content)
        # The content's minimum size follows its rows, so the scroll area scrolls
        # instead of squeezing them when "More details" opens on a hidden form.
        body.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        body.addLayout(self._field_grid(PRIMARY_FIELDS, columns=2))
        self.more_button = QPushButton("More details")
        self.more_button.setCheckable(True)
        self.more_button.setObjectName("moreButton")
        self.more_box = QWidget()
        self.more_box.setLayout(self._field_grid(MORE_FIELDS, columns=3))
        self.more_button.toggled.connect(self.more_box.setVisible)
        body.addWidget(self._booth_section())
        body.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.more_box)
        body.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.notice)
        layout.addWidget(scroll, 1)
        layout.addWidget(self._confirm_panel())
        layout.addLayout(self._button_row())

    def _field_grid(self, specs: Sequence[FieldSpec], columns: int) -> QGridLayout:
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        for index, spec in enumerate(specs):
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(plain_label(spec.label, "fieldLabel"))
            edit = QLineEdit()
            edit.setObjectName(f"field_{spec.name}")
            edit.textChanged.connect(
                lambda _text, name=spec.name: self._on_edited(name)
            )
            warning = plain_label("", "fieldWarning")
            warning.setWordWrap(True)
            warning.hide()
            cell.addWidget(edit)
            cell.addWidget(warning)
            grid.addLayout(cell, index // columns, index % columns)
            self.edits[spec.name] = edit
            self.warnings[spec.name] = warning
        return grid

    def _booth_section(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 12, 0, 0)
        self.rating_label = plain_label("Lead rating", "fieldLabel")
        self.rating = ChoiceButtons(
            [("hot", "Hot"), ("warm", "Warm"), ("cold", "Cold")]
        )
        self.notes_label = plain_label("Notes", "fieldLabel")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setObjectName("field_notes")
        self.notes_edit.setMinimumHeight(72)
        self.notes_edit.setMaximumHeight(120)
        self.notes_edit.setTabChangesFocus(True)

        operator_fields = QGridLayout()
        operator_fields.setHorizontalSpacing(24)
        operator_fields.addWidget(self.rating_label, 0, 0)
        operator_fields.addWidget(self.rating, 1, 0)
        operator_fields.addWidget(self.notes_label, 0, 1)
        operator_fields.addWidget(self.notes_edit, 1, 1)
        operator_fields.setColumnStretch(1, 1)
        layout.addLayout(operator_fields)
        for widget in (
            self.rating_label,
            self.rating,
            self.notes_label,
            self.notes_edit,
        ):
            widget.setVisible(not self._self_service)

        self.questions = [QuestionInput(q) for q in self._config.kiosk.questions]
        for question in self.questions:
            layout.addWidget(question)
        layout.addWidget(self._consent_row())
        return box

    def _consent_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 8, 0, 0)
        self.consent_box = QCheckBox()
        self.consent_box.setObjectName("consentBox")
        self.consent_box.toggled.connect(self._on_consent_toggled)
        self.consent_label = plain_label(self._config.kiosk.consent_text, "consentText")
        self.consent_label.setWordWrap(True)
        self.consent_label.installEventFilter(self)
        layout.addWidget(self.consent_box, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.consent_label, 1)
        return row

    def _confirm_panel(self) -> QFrame:
        self.confirm_panel = QFrame()
        self.confirm_panel.setObjectName("confirmPanel")
        layout = QHBoxLayout(self.confirm_panel)
        self.confirm_text = plain_label("", "confirmText")
        self.confirm_text.setWordWrap(True)
        self.back_button = QPushButton("Go back")
        self.back_button.clicked.connect(self.hide_confirmation)
        self.save_anyway_button = QPushButton("Save anyway")
        self.save_anyway_button.setObjectName("saveAnywayButton")
        self.save_anyway_button.clicked.connect(self._emit_save)
        layout.addWidget(self.confirm_text, 1)
        layout.addWidget(self.back_button)
        layout.addWidget(self.save_anyway_button)
        self.confirm_panel.hide()
        return self.confirm_panel

    def _button_row(self) -> QHBoxLayout:
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button = QPushButton("Save (Enter)")
        self.save_button.setObjectName("saveButton")
        self.save_button.clicked.connect(self.request_save)
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        row.addWidget(self.save_button)
        return row

    # -- loading --------------------------------------------------------------------

    def clear(self) -> None:
        """Empty every field, warning and answer, ready for the next visitor."""
        self.load(None, {})

    def load(
        self, contact: Contact | None, fields: Mapping[str, Any], notice: str = ""
    ) -> None:
        """Fill the form with a lead's fields and the parser's warnings.

        Args:
            contact: the parsed contact whose warnings are shown beside their fields,
                or ``None`` (manual entry, or no warnings to show).
            fields: the lead fields to show and to keep for fields the form has no
                widget for.
            notice: a line shown above the fields, e.g. about an update.
        """
        self._loading = True
        self._base = dict(fields)
        self._edited = set()
        self._parser_warnings = _warnings_by_field(contact)
        for name, edit in self.edits.items():
            edit.setText(_display_value(fields, name))
            edit.setCursorPosition(0)
        self.rating.set_value(str(fields.get("rating", "") or ""))
        self.notes_edit.setPlainText(str(fields.get("notes", "") or ""))
        answers = fields.get("answers") or {}
        for question in self.questions:
            question.set_answer(answers.get(question.question.key))
        self._consent_at = str(fields.get("consent_at", "") or "")
        self.consent_box.setChecked(bool(self._consent_at))
        self._loading = False
        self.notice.setText(self._notice_text(contact, notice))
        self.notice.setVisible(bool(self.notice.text()))
        self.hide_confirmation()
        self._refresh_all_warnings()
        self.more_button.setChecked(self._more_has_content())
        self.more_box.setVisible(self.more_button.isChecked())
        if self.isVisible():
            self._relayout()

    def focus_first_field(self) -> None:
        """Put the keyboard focus where the operator most likely types next."""
        target = "email" if not self.edits["email"].text() else "first_name"
        self.edits[target].setFocus(Qt.FocusReason.OtherFocusReason)

    def _notice_text(self, contact: Contact | None, notice: str) -> str:
        lines = [notice] if notice else []
        if contact is not None and contact.needs_lookup:
            lines.append(
                "This code holds a link or an id, not contact details: "
                "ask the visitor for their name and email."
            )
        lines.extend(self._parser_warnings.get("", []))
        return "\n".join(lines)

    def _more_has_content(self) -> bool:
        return any(
            self.edits[spec.name].text() or self.warnings[spec.name].text()
            for spec in MORE_FIELDS
        )

    # -- reading --------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """Return the lead fields as the form shows them now."""
        fields = dict(self._base)
        address: dict[str, str] = {}
        for name, edit in self.edits.items():
            text = edit.text().strip()
            if name.startswith("address."):
                address[name.split(".", 1)[1]] = text
            elif name in LIST_FIELDS:
                fields[name] = [
                    part.strip() for part in text.split(";") if part.strip()
                ]
            else:
                fields[name] = text
        fields["address"] = address if any(address.values()) else None

        if not self._self_service:
            fields["rating"] = self.rating.value()
            fields["notes"] = self.notes_edit.toPlainText().strip()
        answers = dict(fields.get("answers") or {})
        for question in self.questions:
            answer = question.answer()
            if answer is None:
                answers.pop(question.question.key, None)
            else:
                answers[question.question.key] = answer
        fields["answers"] = answers

        fields["consent_at"] = self._consent_at if self.consent_box.isChecked() else ""
        fields["consent_version"] = (
            self._consent_version() if self.consent_box.isChecked() else ""
        )
        if not fields.get("event") and self._config.kiosk.event:
            fields["event"] = self._config.kiosk.event
        return fields

    def crm_problems(self) -> list[str]:
        """Return why AcmeCRM would reject the lead as it is now, one sentence each."""
        problems = []
        email = self.edits["email"].text().strip()
        if not email:
            problems.append("It has no email, and AcmeCRM requires one.")
        elif normalize_email(email) is None:
            problems.append("Its email is not a valid address.")
        for name, limit in CRM_LIMITS.items():
            if len(self._field_text(name)) > limit:
                label = "note text" if name == "notes" else FIELD_LABELS[name].lower()
                problems.append(f"The {label} is longer than {limit} characters.")
        return problems

    def _field_text(self, name: str) -> str:
        """Return a field's text without surrounding spaces; notes are multi-line."""
        if name == "notes":
            return self.notes_edit.toPlainText().strip()
        return self.edits[name].text().strip()

    def _consent_version(self) -> str:
        stored = str(self._base.get("consent_version", "") or "")
        if stored and self._consent_at == self._base.get("consent_at"):
            return stored
        return self._config.kiosk.consent_version

    # -- saving ---------------------------------------------------------------------

    @property
    def confirmation_visible(self) -> bool:
        """Is the "AcmeCRM will reject this lead" warning showing?"""
        return not self.confirm_panel.isHidden()

    def request_save(self) -> None:
        """Save, or first show why AcmeCRM would reject the lead."""
        problems = self.crm_problems()
        if not problems or self.confirmation_visible:
            self._emit_save()
            return
        self.confirm_text.setText(
            "AcmeCRM will reject this lead. "
            + " ".join(problems)
            + " Ask the visitor, or save anyway: the lead then waits in the staff "
            "panel as needing attention."
        )
        self.confirm_panel.show()
        if not self.edits["email"].text().strip():
            self.edits["email"].setFocus(Qt.FocusReason.OtherFocusReason)

    def hide_confirmation(self) -> None:
        """Hide the save warning and go back to editing."""
        self.confirm_panel.hide()

    def cancel(self) -> None:
        """Drop the lead (Escape); the first Escape only hides the save warning."""
        if self.confirmation_visible:
            self.hide_confirmation()
            return
        self.cancelled.emit()

    def _emit_save(self) -> None:
        self.hide_confirmation()
        self.save_requested.emit(self.values())

    # -- events ---------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._relayout()

    def _relayout(self) -> None:
        # Rows shown or hidden while the form page was hidden (a warning, "More
        # details") leave stale cached sizes behind, and the rows then overlap.
        for layout in self._content.findChildren(QLayout):
            layout.invalidate()
        content_layout = self._content.layout()
        if content_layout is not None:
            content_layout.invalidate()
            content_layout.activate()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.request_save()
        elif event.key() == Qt.Key.Key_Escape:
            self.cancel()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.consent_label
            and event.type() == QEvent.Type.MouseButtonRelease
        ):
            self.consent_box.toggle()
            return True
        return super().eventFilter(watched, event)

    def _on_consent_toggled(self, checked: bool) -> None:
        if self._loading:
            return
        self._consent_at = utc_now_iso() if checked else ""

    def _on_edited(self, name: str) -> None:
        if self._loading:
            return
        self._edited.add(name)
        self._refresh_warning(name)

    # -- inline checks --------------------------------------------------------------

    def _refresh_all_warnings(self) -> None:
        for name in self.edits:
            self._refresh_warning(name)

    def _refresh_warning(self, name: str) -> None:
        messages = (
            [] if name in self._edited else list(self._parser_warnings.get(name, []))
        )
        for message in self._check(name, self.edits[name].text().strip()):
            if message not in messages:
                messages.append(message)
        label = self.warnings[name]
        label.setText("\n".join(messages))
        label.setVisible(bool(messages))

    def _check(self, name: str, text: str) -> list[str]:
        if name == "email":
            if not text:
                return ["Required: AcmeCRM needs an email. Ask the visitor for it."]
            if normalize_email(text) is None:
                return ["Not a valid email address."]
        limit = CRM_LIMITS.get(name)
        if limit is not None and len(text) > limit:
            return [f"Longer than the CRM accepts ({limit} characters). Shorten it."]
        if name in ("phone", "fax") and text:
            region = self._config.capture.default_region
            phone = normalize_phone(text, region)
            if phone is None or not phone.valid:
                return ["This does not look like a phone number. Check it."]
        return []


def _warnings_by_field(contact: Contact | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if contact is None:
        return found
    for warning in contact.warnings:
        name = _warning_target(warning.field)
        found.setdefault(name, []).append(warning.message)
    return found


def _warning_target(field_name: str) -> str:
    """Return the form field a parser warning belongs beside, ``""`` for the form."""
    if field_name in FIELD_LABELS:
        return field_name
    if field_name == "address" or field_name.startswith("address"):
        return "address.street"
    return ""


def _display_value(fields: Mapping[str, Any], name: str) -> str:
    if name.startswith("address."):
        address = fields.get("address") or {}
        return str(address.get(name.split(".", 1)[1], "") or "")
    value = fields.get(name, "")
    if name in LIST_FIELDS:
        return "; ".join(str(item) for item in value or ())
    return "" if value is None else str(value)
