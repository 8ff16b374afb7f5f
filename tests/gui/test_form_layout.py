"""The lead form at kiosk size: rows stack without overlap and the form scrolls."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QScrollArea, QWidget

from kiosk.gui.lead_form import LeadForm
from kiosk.gui.main_window import FORM, MainWindow
from tests.gui.conftest import OpenKiosk, vcard

SCAN_TIMEOUT_MS = 15_000


def _describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QLabel | QLineEdit) else ""
    return f"{widget.objectName()}({text[:20]!r})"


def _overlaps(form: LeadForm) -> list[str]:
    """Return each pair of visible labels and inputs whose geometries intersect."""
    content = form.findChild(QWidget, "formContent")
    assert content is not None
    boxes = []
    for widget in content.findChildren(QWidget):
        if not isinstance(widget, QLabel | QLineEdit | QPlainTextEdit):
            continue
        if not widget.isVisibleTo(content):
            continue
        if isinstance(widget, QLabel) and not widget.text():
            continue
        origin = widget.mapTo(content, widget.rect().topLeft())
        boxes.append((_describe(widget), QRect(origin, widget.size())))
    return [
        f"{first} overlaps {second}"
        for (first, a), (second, b) in combinations(boxes, 2)
        if a.intersects(b)
    ]


def _second_visitor_form(open_kiosk: OpenKiosk, qtbot: Any) -> MainWindow:
    """Save a first visitor, then show a second one with no email and more details.

    The second visitor's email warning and "More details" section appear while the
    form page is hidden, and the page is shown again afterwards.
    """
    first = vcard("Ada", "Lovelace", "ada@example.com")
    second = vcard(
        "Odette",
        "Fairweather",
        "",
        TEL="+12125550123",
        ORG="Northwind Traders",
        URL="https://example.com/odette",
        NOTE="Line one\\nLine two",
    )
    window = open_kiosk([first, second])
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    window.form.save_button.click()
    qtbot.waitUntil(
        lambda: (
            window.page == FORM and window.form.edits["first_name"].text() == "Odette"
        ),
        timeout=SCAN_TIMEOUT_MS,
    )
    return window


def test_form_rows_do_not_overlap(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = _second_visitor_form(open_kiosk, qtbot)
    form = window.form

    assert window.width() == 1280
    assert window.height() == 800
    assert form.more_box.isVisible()
    assert form.warnings["email"].isVisible()
    qtbot.wait(100)
    assert _overlaps(form) == []


def test_form_scrolls_instead_of_squeezing(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = _second_visitor_form(open_kiosk, qtbot)
    form = window.form
    scroll = form.findChild(QScrollArea)
    assert scroll is not None

    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)
    content = scroll.widget()
    assert content.height() >= content.layout().minimumSize().height()
    assert _overlaps(form) == []


def test_more_details_opened_by_hand(open_kiosk: OpenKiosk, qtbot: Any) -> None:
    window = open_kiosk([vcard("Ada", "Lovelace", "")])
    qtbot.waitUntil(lambda: window.page == FORM, timeout=SCAN_TIMEOUT_MS)
    form = window.form
    form.more_button.setChecked(True)

    assert form.warnings["email"].isVisible()
    qtbot.waitUntil(lambda: form.edits["website"].isVisible())
    qtbot.wait(100)
    assert _overlaps(form) == []
