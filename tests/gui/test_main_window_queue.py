"""Visitors scanned while the operator is busy: the queue and the scan-to-form time."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from kiosk.gui.main_window import DUPLICATE, FORM, SCANNER
from kiosk.gui.visitor_queue import VisitorQueue
from kiosk.gui.workers import METRIC_SCAN_TO_FORM
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000
# Time the test spends on a form, in place of an operator talking to a visitor.
OPERATOR_MS = 2000

VISITORS = [
    ("Ana", "Lima", "ana.lima@example.com"),
    ("Bruno", "Costa", "bruno.costa@example.com"),
    ("Chloé", "Durand", "chloe.durand@example.com"),
]


def _payloads() -> list[str]:
    return [vcard(first, last, email) for first, last, email in VISITORS]


def _wait_for_form(qtbot: Any, window: Any, first_name: str) -> None:
    qtbot.waitUntil(
        lambda: (
            window.page == FORM and window.form.edits["first_name"].text() == first_name
        ),
        timeout=SCAN_TIMEOUT_MS,
    )


def test_codes_during_form_wait_in_order(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk(_payloads())
    _wait_for_form(qtbot, window, "Ana")
    qtbot.waitUntil(lambda: window.waiting_count == 2, timeout=SCAN_TIMEOUT_MS)
    assert window.waiting_label.isVisible()
    assert window.waiting_label.text() == "2 more scanned, waiting"

    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Return)
    _wait_for_form(qtbot, window, "Bruno")
    assert window.waiting_label.text() == "1 more scanned, waiting"

    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Escape)
    _wait_for_form(qtbot, window, "Chloé")
    assert window.waiting_count == 0
    assert window.waiting_label.isHidden()

    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)
    store = window.runtime.store
    qtbot.waitUntil(lambda: store.count_leads() == 2, timeout=SCAN_TIMEOUT_MS)
    emails = sorted(row.email for row in store.list_leads())
    assert emails == ["ana.lima@example.com", "chloe.durand@example.com"]


def test_queued_scan_time_excludes_operator(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk(_payloads()[:2])
    _wait_for_form(qtbot, window, "Ana")
    qtbot.waitUntil(lambda: window.waiting_count == 1, timeout=SCAN_TIMEOUT_MS)

    qtbot.wait(OPERATOR_MS)
    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Escape)
    _wait_for_form(qtbot, window, "Bruno")

    metrics = window.runtime.metrics
    qtbot.waitUntil(lambda: metrics.summary(METRIC_SCAN_TO_FORM)["count"] == 2)
    slowest = metrics.summary(METRIC_SCAN_TO_FORM)["p99"]
    assert slowest is not None
    assert slowest < OPERATOR_MS


def test_duplicate_prompt_time_recorded_once(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    def save_earlier(runtime: Any) -> None:
        runtime.save_lead({"first_name": "Ana", "email": "ana.lima@example.com"})

    window = open_kiosk(_payloads()[:1], before_start=save_earlier)
    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)
    metrics = window.runtime.metrics
    qtbot.waitUntil(lambda: metrics.summary(METRIC_SCAN_TO_FORM)["count"] == 1)

    qtbot.mouseClick(window.update_button, Qt.MouseButton.LeftButton)
    assert window.page == FORM
    qtbot.keyClick(window.form.edits["first_name"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == SCANNER, timeout=SCAN_TIMEOUT_MS)

    assert metrics.summary(METRIC_SCAN_TO_FORM)["count"] == 1


def test_keep_both_prompt_names_crm_merge(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    def save_earlier(runtime: Any) -> None:
        runtime.save_lead({"first_name": "Ana", "email": "ana.lima@example.com"})

    window = open_kiosk(_payloads()[:1], before_start=save_earlier)
    qtbot.waitUntil(lambda: window.page == DUPLICATE, timeout=SCAN_TIMEOUT_MS)

    detail = window.duplicate_detail.text()
    assert "AcmeCRM merges leads with the same email into one contact" in detail


@pytest.mark.expected_log("kiosk.gui.visitor_queue")
def test_visitor_queue_skips_repeats_and_bounds() -> None:
    queue = VisitorQueue(max_size=2)

    assert queue.push("a", "A")
    assert not queue.push("a again", "A")
    assert not queue.push("on screen", "C", current_text="C")
    assert queue.push("b", "B")
    assert not queue.push("c", "D")

    assert len(queue) == 2
    assert queue.pop() == "a"
    assert queue.pop() == "b"
    assert queue.pop() is None
