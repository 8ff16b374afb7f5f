"""Returning visitors and self-service: the duplicate prompt and the idle clear."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.gui.main_window import DUPLICATE, FORM, SCANNER
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000
EMAIL = "ana.lima@example.com"


def _save_earlier_visit(runtime: Any) -> None:
    runtime.save_lead(
        {
            "first_name": "Ana",
            "last_name": "Lima",
            "email": EMAIL,
            "rating": "warm",
            "notes": "Met on day one",
        }
    )


def _scan_returning_visitor(open_kiosk: OpenKiosk, qtbot: Any) -> Any:
    payload = vcard("Ana", "Lima", EMAIL.upper(), ORG="Globex")
    window = open_kiosk([payload], before_start=_save_earlier_visit)
    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)
    return window


def test_returning_visitor_shows_captured_time(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = _scan_returning_visitor(open_kiosk, qtbot)
    store = window.runtime.store
    earlier = store.list_leads()[0]
    expected = earlier.captured_at.astimezone().strftime("%H:%M")

    assert window.duplicate_title.text() == f"Already captured at {expected}"
    assert "Ana Lima" in window.duplicate_detail.text()
    assert store.count_leads() == 1


def test_update_saves_new_revision_of_same_lead(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = _scan_returning_visitor(open_kiosk, qtbot)
    store = window.runtime.store
    lead_id = store.list_leads()[0].lead_id

    qtbot.mouseClick(window.update_button, Qt.MouseButton.LeftButton)

    assert window.page == FORM
    form = window.form
    assert form.edits["company"].text() == "Globex"
    assert form.rating.value() == "warm"
    assert form.notes_edit.toPlainText() == "Met on day one"
    qtbot.keyClick(form.edits["company"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    assert store.count_leads() == 1
    lead = store.get_lead(lead_id)
    assert lead.revision == 2
    assert lead.fields["company"] == "Globex"
    assert lead.fields["notes"] == "Met on day one"


def test_keep_both_saves_second_lead(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = _scan_returning_visitor(open_kiosk, qtbot)

    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.page == FORM)
    assert window.form.rating.value() == ""
    qtbot.keyClick(window.form.edits["email"], Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    store = window.runtime.store
    assert store.count_leads() == 2
    assert all(row.revision == 1 for row in store.list_leads())


def test_escape_on_duplicate_prompt_saves_nothing(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = _scan_returning_visitor(open_kiosk, qtbot)

    qtbot.keyClick(window.update_button, Qt.Key.Key_Escape)

    assert window.page == SCANNER
    lead = window.runtime.store.list_leads()[0]
    assert lead.revision == 1


def test_manual_known_email_prompts_on_save(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk(before_start=_save_earlier_visit)
    store = window.runtime.store
    lead_id = store.list_leads()[0].lead_id
    window.start_manual_entry()
    qtbot.keyClicks(window.form.edits["email"], "Ana.Lima@Example.com")
    qtbot.keyClicks(window.form.edits["title"], "CTO")

    qtbot.keyClick(window.form.edits["title"], Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)
    assert store.count_leads() == 1
    qtbot.keyClick(window.update_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    lead = store.get_lead(lead_id)
    assert store.count_leads() == 1
    assert lead.revision == 2
    assert lead.fields["title"] == "CTO"
    assert lead.fields["first_name"] == "Ana"
    assert lead.fields["rating"] == "warm"


def test_self_service_form_clears_when_idle(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    payload = vcard("Eva", "Sousa", "eva.sousa@example.com")
    window = open_kiosk([payload], kiosk={"self_service": True, "idle_clear_s": 1.0})
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    form = window.form
    assert form.edits["email"].text() == "eva.sousa@example.com"
    assert form.rating.isHidden()
    assert form.notes_edit.isHidden()
    assert window.idle_timer.isActive()

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=5_000)

    assert form.edits["email"].text() == ""
    assert form.edits["first_name"].text() == ""
    assert window.status_label.text() == "Cleared for the next visitor."
    assert window.runtime.store.count_leads() == 0


def test_self_service_typing_postpones_clear(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk(kiosk={"self_service": True, "idle_clear_s": 3.0})
    window.start_manual_entry()
    qtbot.waitUntil(lambda: window.idle_timer.remainingTime() < 2_000, timeout=5_000)

    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_A)

    assert window.idle_timer.remainingTime() > 2_000
    assert window.page == FORM


def test_operator_mode_never_clears(open_kiosk: OpenKiosk) -> None:
    window = open_kiosk(kiosk={"idle_clear_s": 0.1})
    window.start_manual_entry()

    assert not window.idle_timer.isActive()
    assert not window.form.rating.isHidden()
