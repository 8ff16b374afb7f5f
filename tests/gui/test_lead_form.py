"""The lead form: payload text shown literally, warnings beside fields, booth fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from kiosk.config import Config, parse_config
from kiosk.contacts.model import Address, Contact, FieldWarning
from kiosk.gui.lead_form import LeadForm
from kiosk.gui.main_window import DUPLICATE, FORM
from kiosk.store.fields import lead_fields_from_contact
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000
BOLD = "<b>Bold</b>"
IMAGE = '<img src="https://evil.example.com/x.png">'
FORMULA = '=HYPERLINK("https://evil.example.com","click")'
SCRIPT = "<script>alert(1)</script>"


def markup_vcard() -> str:
    return vcard(
        BOLD,
        "Tester",
        "bold.tester@example.com",
        ORG=IMAGE,
        TITLE=FORMULA.replace(",", "\\,"),
        NOTE=SCRIPT,
    )


def _rich_labels(widget: Any) -> list[str]:
    return [
        label.objectName() or label.text()
        for label in widget.findChildren(QLabel)
        if label.textFormat() != Qt.TextFormat.PlainText
    ]


@pytest.fixture
def make_form(qtbot: Any) -> Any:
    def make(config: Config | None = None) -> LeadForm:
        form = LeadForm(config or parse_config({}))
        qtbot.addWidget(form)
        form.resize(1280, 800)
        form.show()
        qtbot.waitExposed(form)
        return form

    return make


def test_scanned_markup_is_shown_literally(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk([markup_vcard()])

    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)

    form = window.form
    assert form.edits["first_name"].text() == BOLD
    assert form.edits["company"].text() == IMAGE
    assert form.edits["title"].text() == FORMULA
    assert form.notes_edit.toPlainText() == SCRIPT
    assert _rich_labels(window) == []


def test_duplicate_prompt_shows_markup_literally(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    def save_earlier(runtime: Any) -> None:
        runtime.save_lead(
            {"first_name": BOLD, "email": "bold.tester@example.com", "company": IMAGE}
        )

    window = open_kiosk([markup_vcard()], before_start=save_earlier)

    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)
    assert BOLD in window.duplicate_detail.text()
    assert IMAGE in window.duplicate_detail.text()
    assert _rich_labels(window) == []


def test_parser_warnings_beside_fields(make_form: Any) -> None:
    form = make_form()
    contact = Contact(
        first_name="Ana",
        email="",
        phone="+1 555",
        warnings=(
            FieldWarning(
                "invalid_email", "email", "The email is not valid; left empty."
            ),
            FieldWarning("invalid_phone", "phone", "The phone number looks wrong."),
            FieldWarning("too_long", "address", "The address is too long."),
            FieldWarning("truncated", "", "Part of the card could not be read."),
        ),
    )

    form.load(contact, lead_fields_from_contact(contact))

    assert "The email is not valid; left empty." in form.warnings["email"].text()
    assert "AcmeCRM needs an email" in form.warnings["email"].text()
    assert "The phone number looks wrong." in form.warnings["phone"].text()
    assert form.warnings["address.street"].text() == "The address is too long."
    assert "Part of the card could not be read." in form.notice.text()
    assert form.more_button.isChecked()
    assert form.warnings["first_name"].isHidden()


def test_edit_replaces_parser_warning(make_form: Any) -> None:
    form = make_form()
    contact = Contact(
        email="x@example.com",
        phone="12",
        warnings=(FieldWarning("invalid_phone", "phone", "Phone looks wrong."),),
    )
    form.load(contact, lead_fields_from_contact(contact))
    assert "Phone looks wrong." in form.warnings["phone"].text()

    form.edits["phone"].setText("+1 201 555 0123")

    assert form.warnings["phone"].isHidden()


def test_values_over_crm_limits_are_problems(make_form: Any) -> None:
    form = make_form()
    form.load(None, {"email": "ana@example.com", "company": "C" * 201})

    assert form.crm_problems() == ["The company is longer than 200 characters."]
    assert "200 characters" in form.warnings["company"].text()


def test_notes_over_crm_limit_are_problem(make_form: Any) -> None:
    form = make_form()
    form.load(None, {"email": "ana@example.com", "notes": "n" * 10_001})

    assert form.crm_problems() == ["The note text is longer than 10000 characters."]


def test_values_round_trip_lists_and_address(make_form: Any) -> None:
    form = make_form()
    contact = Contact(
        first_name="Ana",
        email="ana@example.com",
        other_emails=("a2@example.com", "a3@example.com"),
        department=("Sales", "EMEA"),
        address=Address(street="1 Main St", city="Lisbon", country="PT"),
        badge_id="B-17",
        source_format="vcard-3.0",
    )
    fields = lead_fields_from_contact(contact)

    form.load(contact, fields)
    values = form.values()

    assert form.edits["other_emails"].text() == "a2@example.com; a3@example.com"
    assert values["other_emails"] == ["a2@example.com", "a3@example.com"]
    assert values["department"] == ["Sales", "EMEA"]
    assert values["address"] == {
        "street": "1 Main St",
        "city": "Lisbon",
        "region": "",
        "postal_code": "",
        "country": "PT",
    }
    assert values["badge_id"] == "B-17"
    assert values["source_format"] == "vcard-3.0"


def test_consent_records_time_and_version(make_form: Any, qtbot: Any) -> None:
    config = parse_config(
        {"kiosk": {"consent_text": "Contact me, please.", "consent_version": "2026-1"}}
    )
    form = make_form(config)
    form.load(None, {"email": "ana@example.com"})
    assert form.consent_label.text() == "Contact me, please."
    assert form.values()["consent_at"] == ""
    before = datetime.now(UTC).replace(microsecond=0)

    qtbot.mouseClick(form.consent_label, Qt.MouseButton.LeftButton)

    assert form.consent_box.isChecked()
    values = form.values()
    assert datetime.fromisoformat(values["consent_at"]) >= before
    assert values["consent_version"] == "2026-1"

    form.consent_box.setChecked(False)
    assert form.values()["consent_at"] == ""
    assert form.values()["consent_version"] == ""


def test_questions_are_answered(make_form: Any, qtbot: Any) -> None:
    config = parse_config(
        {
            "kiosk": {
                "questions": [
                    {"key": "budget", "label": "Budget approved?", "kind": "yes_no"},
                    {
                        "key": "size",
                        "label": "Team size",
                        "kind": "choice",
                        "choices": ["1-10", "11-100", "100+"],
                    },
                    {"key": "need", "label": "Main need", "kind": "text"},
                ]
            }
        }
    )
    form = make_form(config)
    form.load(None, {"email": "ana@example.com"})
    budget, size, need = form.questions

    qtbot.mouseClick(budget.buttons.buttons["yes"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(size.buttons.buttons["11-100"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(need.line_edit, "Faster onboarding")

    assert form.values()["answers"] == {
        "budget": True,
        "size": "11-100",
        "need": "Faster onboarding",
    }
    qtbot.mouseClick(budget.buttons.buttons["yes"], Qt.MouseButton.LeftButton)
    assert "budget" not in form.values()["answers"]


def test_rating_buttons_choose_one(make_form: Any, qtbot: Any) -> None:
    form = make_form()
    form.load(None, {"email": "ana@example.com", "rating": "warm"})
    assert form.values()["rating"] == "warm"

    qtbot.mouseClick(form.rating.buttons["cold"], Qt.MouseButton.LeftButton)

    assert form.values()["rating"] == "cold"
    assert not form.rating.buttons["warm"].isChecked()


def test_self_service_hides_rating_and_notes(make_form: Any) -> None:
    form = make_form(parse_config({"kiosk": {"self_service": True}}))
    form.load(None, {"email": "ana@example.com", "notes": "kept", "rating": "hot"})

    assert form.rating.isHidden()
    assert form.notes_edit.isHidden()
    assert form.values()["notes"] == "kept"
    assert form.values()["rating"] == "hot"
