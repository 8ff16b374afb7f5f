"""The kiosk window end to end: a QR folder camera, the form, the store, AcmeCRM."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QLabel

from kiosk.capture.loop import STATUS_DISCONNECTED, STATUS_RECONNECTED
from kiosk.gui.main_window import FORM, READY, SAVED, SCANNER
from kiosk.gui.workers import METRIC_SCAN_TO_FORM
from tests.gui.conftest import OpenKiosk, vcard

SYNC_TIMEOUT_MS = 20_000
SCAN_TIMEOUT_MS = 15_000


def test_scan_then_enter_reaches_crm(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    payload = vcard("Ana", "Lima", "ana.lima@example.com", ORG="Globex", TITLE="Buyer")
    window = open_kiosk([payload])

    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    form = window.form
    assert form.edits["first_name"].text() == "Ana"
    assert form.edits["last_name"].text() == "Lima"
    assert form.edits["email"].text() == "ana.lima@example.com"
    assert form.edits["company"].text() == "Globex"
    assert form.edits["title"].text() == "Buyer"

    qtbot.keyClick(form.edits["first_name"], Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    assert window.status_label.text() == SAVED
    store = window.runtime.store
    assert store.count_leads() == 1
    server = window.runtime.embedded_crm
    qtbot.waitUntil(lambda: server.stats()["contacts"] == 1, timeout=SYNC_TIMEOUT_MS)
    lead_id = store.list_leads()[0].lead_id
    qtbot.waitUntil(
        lambda: store.get_lead(lead_id).sync_state == "synced",
        timeout=SYNC_TIMEOUT_MS,
    )
    lead = store.get_lead(lead_id)
    assert lead.crm_id
    assert lead.fields["email"] == "ana.lima@example.com"
    assert lead.fields["event"] == "Test Expo"
    metrics = window.runtime.metrics
    qtbot.waitUntil(lambda: metrics.summary(METRIC_SCAN_TO_FORM)["count"] == 1)
    assert metrics.summary("save_commit")["count"] == 1


def test_code_without_contact_keeps_scanning(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk(["Welcome to booth 12"])

    qtbot.waitUntil(
        lambda: "no contact details" in window.status_label.text(),
        timeout=SCAN_TIMEOUT_MS,
    )

    assert window.page == SCANNER
    assert window.runtime.store.count_leads() == 0


@pytest.mark.expected_log("kiosk.gui.store_worker")
def test_parser_error_keeps_kiosk_scanning(
    open_kiosk: OpenKiosk, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parse(payload: Any, config: Any = None) -> Any:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("kiosk.contacts.parse", broken_parse)
    window = open_kiosk([vcard("Gil", "Reis", "gil@example.com")])

    qtbot.waitUntil(
        lambda: "could not be read" in window.status_label.text(),
        timeout=SCAN_TIMEOUT_MS,
    )

    assert window.page == SCANNER
    window.start_manual_entry()
    assert window.page == FORM


def test_preview_shows_camera_frames(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk([vcard("Ida", "Reis", "ida@example.com")])

    qtbot.waitUntil(lambda: window.scanner_view.frame is not None)
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    frame = window.scanner_view.frame
    assert frame is not None
    assert frame.image.width() > 0
    assert window.scanner_view.flashing or window.page == FORM


def test_mirrored_preview_flips_horizontally(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    view = window.scanner_view
    qtbot.waitUntil(lambda: view.frame is not None)
    assert view.mirror
    width = view.frame.image.width()

    left = view.frame_transform().map(QPointF(0, 0))
    right = view.frame_transform().map(QPointF(width, 0))

    assert left.x() > right.x()
    view.mirror = False
    assert view.frame_transform().map(QPointF(0, 0)).x() < left.x()


def test_status_line_shows_crm_and_camera(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()

    assert window.status_label.text() == READY
    assert window.crm_label.text() == "Demo CRM (local)"
    assert window.camera_text.startswith("Camera: Images in ")
    assert window.camera_label.text().startswith("Camera: Images")
    qtbot.waitUntil(
        lambda: window.sync_label.text() == "All leads synced", timeout=SYNC_TIMEOUT_MS
    )


def test_manual_entry_saves_typed_lead(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    qtbot.mouseClick(window.manual_button, Qt.MouseButton.LeftButton)
    assert window.page == FORM
    form = window.form
    assert form.edits["email"].text() == ""

    qtbot.keyClicks(form.edits["first_name"], "Bruno")
    qtbot.keyClicks(form.edits["last_name"], "Costa")
    qtbot.keyClicks(form.edits["email"], "bruno.costa@example.org")
    qtbot.mouseClick(form.rating.buttons["hot"], Qt.MouseButton.LeftButton)
    form.notes_edit.setPlainText("Wants a demo")
    qtbot.keyClick(form.edits["email"], Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    rows = window.runtime.store.list_leads()
    assert len(rows) == 1
    fields = window.runtime.store.get_lead(rows[0].lead_id).fields
    assert fields["first_name"] == "Bruno"
    assert fields["email"] == "bruno.costa@example.org"
    assert fields["rating"] == "hot"
    assert fields["notes"] == "Wants a demo"


def test_escape_cancels_form_without_saving(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    # A mnemonic clicks its button after a short animation, hence the wait.
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.page == FORM)
    qtbot.keyClicks(window.form.edits["email"], "carla@example.com")

    qtbot.keyClick(window.form.edits["email"], Qt.Key.Key_Escape)

    assert window.page == SCANNER
    assert window.form.edits["email"].text() == ""
    assert window.runtime.store.count_leads() == 0


def test_missing_email_warns_then_saves_anyway(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = open_kiosk()
    window.start_manual_entry()
    form = window.form
    assert not form.warnings["email"].isHidden()
    assert "AcmeCRM needs an email" in form.warnings["email"].text()
    qtbot.keyClicks(form.edits["first_name"], "Dora")

    qtbot.keyClick(form.edits["first_name"], Qt.Key.Key_Return)

    assert form.confirmation_visible
    assert "no email" in form.confirm_text.text()
    assert window.page == FORM
    assert window.runtime.store.count_leads() == 0

    qtbot.mouseClick(form.save_anyway_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    store = window.runtime.store
    lead_id = store.list_leads()[0].lead_id
    qtbot.waitUntil(
        lambda: store.get_lead(lead_id).sync_state == "needs_attention",
        timeout=SYNC_TIMEOUT_MS,
    )
    assert window.runtime.embedded_crm.stats()["contacts"] == 0


def test_email_typed_after_warning_saves(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    window.start_manual_entry()
    form = window.form
    qtbot.keyClick(form.edits["first_name"], Qt.Key.Key_Return)
    assert form.confirmation_visible
    assert form.edits["email"].hasFocus()

    qtbot.keyClicks(form.edits["email"], "not-an-email")
    assert form.warnings["email"].text() == "Not a valid email address."
    form.edits["email"].setText("erin@example.com")
    assert form.warnings["email"].isHidden()
    qtbot.keyClick(form.edits["email"], Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    assert window.runtime.store.count_leads() == 1


def test_every_label_is_plain_text(open_kiosk: OpenKiosk) -> None:
    window = open_kiosk()
    window.start_manual_entry()

    labels = window.findChildren(QLabel)

    assert len(labels) > 20
    rich = [label.objectName() for label in labels if not _is_plain(label)]
    assert rich == []


def _is_plain(label: QLabel) -> bool:
    return label.textFormat() == Qt.TextFormat.PlainText


def test_save_submitted_before_shutdown_is_kept(
    open_kiosk: OpenKiosk, qtbot: Any
) -> None:
    window = open_kiosk()
    window.start_manual_entry()
    qtbot.keyClicks(window.form.edits["email"], "hana@example.com")

    window.form.request_save()
    window.store_worker.stop()

    assert window.runtime.store.count_leads() == 1


def test_double_enter_saves_one_lead(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    window.start_manual_entry()
    email = window.form.edits["email"]
    qtbot.keyClicks(email, "ivo@example.com")

    qtbot.keyClick(email, Qt.Key.Key_Return)
    qtbot.keyClick(email, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    assert window.runtime.store.count_leads() == 1


def test_keyboard_focus_returns_to_scanner(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()
    window.start_manual_entry()
    qtbot.keyClick(window.form.edits["email"], Qt.Key.Key_Escape)

    focused = QApplication.focusWidget()

    assert focused is window.scanner_view


def test_camera_messages_reach_status_line(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk()

    window.capture_worker.status_changed.emit(STATUS_DISCONNECTED)
    qtbot.waitUntil(lambda: window.status_label.text() == STATUS_DISCONNECTED)

    window.capture_worker.status_changed.emit(STATUS_RECONNECTED)
    qtbot.waitUntil(lambda: window.status_label.text() == STATUS_RECONNECTED)
    window._restore_status()
    assert window.status_label.text() == READY
