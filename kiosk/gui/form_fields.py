"""The lead form's field list and its input widgets for qualifying questions.

Labels made here are plain-text, so markup in a visitor's card is shown as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import Question

# Fields joined with "; " in one line edit.
LIST_FIELDS = frozenset({"other_emails", "other_phones", "department"})
ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")
MAX_BUTTON_CHOICES = 5


@dataclass(frozen=True)
class FieldSpec:
    """One line edit of the form: the lead field it edits and its label."""

    name: str
    label: str


PRIMARY_FIELDS = (
    FieldSpec("first_name", "First name"),
    FieldSpec("last_name", "Last name"),
    FieldSpec("email", "Email *"),
    FieldSpec("phone", "Phone"),
    FieldSpec("company", "Company"),
    FieldSpec("title", "Job title"),
)
MORE_FIELDS = (
    FieldSpec("website", "Website"),
    FieldSpec("linkedin_url", "LinkedIn"),
    FieldSpec("profile_url", "Profile URL"),
    FieldSpec("department", "Department"),
    FieldSpec("other_emails", "Other emails"),
    FieldSpec("other_phones", "Other phones"),
    FieldSpec("phone_ext", "Phone extension"),
    FieldSpec("fax", "Fax"),
    FieldSpec("middle_name", "Middle name"),
    FieldSpec("prefix", "Prefix"),
    FieldSpec("suffix", "Suffix"),
    FieldSpec("nickname", "Nickname"),
    FieldSpec("address.street", "Street"),
    FieldSpec("address.city", "City"),
    FieldSpec("address.region", "Region"),
    FieldSpec("address.postal_code", "Postal code"),
    FieldSpec("address.country", "Country"),
    FieldSpec("badge_id", "Badge id"),
    FieldSpec("event_code", "Event code"),
)
FIELD_LABELS = {
    spec.name: spec.label.rstrip(" *") for spec in PRIMARY_FIELDS + MORE_FIELDS
}


def plain_label(text: str = "", object_name: str = "") -> QLabel:
    """Return a QLabel that shows its text literally (``Qt.PlainText``)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if object_name:
        label.setObjectName(object_name)
    return label


def utc_now_iso() -> str:
    """Return the current UTC time as ISO 8601 with seconds, e.g. for consent."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ChoiceButtons(QWidget):
    """A row of large toggle buttons of which at most one is checked.

    Clicking the checked button again clears the choice, so "no answer" stays possible.

    Signals:
        changed(str): the chosen key, ``""`` when cleared.
    """

    changed = Signal(str)

    def __init__(
        self, choices: Sequence[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        for key, text in choices:
            button = QPushButton(text)
            button.setCheckable(True)
            button.setObjectName(f"choice_{key}")
            button.clicked.connect(
                lambda checked, key=key: self._on_clicked(key, checked)
            )
            layout.addWidget(button)
            self.buttons[key] = button
        layout.addStretch(1)

    def value(self) -> str:
        """Return the checked button's key, or ``""``."""
        for key, button in self.buttons.items():
            if button.isChecked():
                return key
        return ""

    def set_value(self, key: str) -> None:
        """Check the button of ``key`` (``""`` or an unknown key clears the choice)."""
        for name, button in self.buttons.items():
            button.setChecked(name == key)

    def _on_clicked(self, key: str, checked: bool) -> None:
        for name, button in self.buttons.items():
            if name != key:
                button.setChecked(False)
        self.changed.emit(key if checked else "")


class QuestionInput(QWidget):
    """The input of one qualifying question: yes/no, a choice, or short text."""

    def __init__(self, question: Question, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = question
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(plain_label(question.label, "questionLabel"))
        self.buttons: ChoiceButtons | None = None
        self.combo: QComboBox | None = None
        self.line_edit: QLineEdit | None = None
        if question.kind == "yes_no":
            self.buttons = ChoiceButtons([("yes", "Yes"), ("no", "No")])
            layout.addWidget(self.buttons)
        elif question.kind == "choice" and len(question.choices) <= MAX_BUTTON_CHOICES:
            self.buttons = ChoiceButtons([(c, c) for c in question.choices])
            layout.addWidget(self.buttons)
        elif question.kind == "choice":
            self.combo = QComboBox()
            self.combo.addItem("", "")
            for choice in question.choices:
                self.combo.addItem(choice, choice)
            layout.addWidget(self.combo)
        else:
            self.line_edit = QLineEdit()
            layout.addWidget(self.line_edit)

    def answer(self) -> Any:
        """Return the answer (``True``/``False`` for yes/no), or ``None`` when blank."""
        if self.buttons is not None:
            value = self.buttons.value()
            if not value:
                return None
            return value == "yes" if self.question.kind == "yes_no" else value
        if self.combo is not None:
            return self.combo.currentData() or None
        assert self.line_edit is not None
        return self.line_edit.text().strip() or None

    def set_answer(self, value: Any) -> None:
        """Show a stored answer (``None`` clears it)."""
        if self.buttons is not None:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            self.buttons.set_value("" if value is None else str(value))
        elif self.combo is not None:
            index = self.combo.findData("" if value is None else str(value))
            self.combo.setCurrentIndex(max(index, 0))
        elif self.line_edit is not None:
            self.line_edit.setText("" if value is None else str(value))
