"""``run_kiosk``: the window's start from the command-line options, and its exit."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.gui.app import run_kiosk
from kiosk.gui.main_window import FORM, MainWindow
from tests.gui.conftest import vcard, write_camera_folder

DEADLINE_MS = 20_000


def _kiosk_window() -> MainWindow | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            return widget
    return None


def _args(tmp_path: Path, camera: Path) -> argparse.Namespace:
    return argparse.Namespace(
        camera=str(camera),
        db=f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        crm_url=None,
        config=None,
        windowed=True,
    )


@pytest.fixture
def user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("KIOSK_PIN", "4711")


def _poll(action: Any, deadline: list[int]) -> QTimer:
    """Call ``action(window)`` every 50 ms until it returns True.

    Past the deadline the window is closed, so a failing test ends instead of hanging.
    """
    timer = QTimer()

    def tick() -> None:
        deadline[0] -= 50
        window = _kiosk_window()
        if deadline[0] <= 0:
            timer.stop()
            if window is not None:
                window.close_without_pin()
            return
        if window is not None and action(window):
            timer.stop()

    timer.timeout.connect(tick)
    timer.start(50)
    return timer


def test_run_kiosk_scans_then_closes(
    qapp: QApplication, tmp_path: Path, user_folders: None
) -> None:
    camera = write_camera_folder(
        tmp_path / "camera", [vcard("Lia", "Melo", "lia@example.com")]
    )
    seen: dict[str, Any] = {}

    def when_form_shows(window: MainWindow) -> bool:
        if window.page != FORM:
            return False
        seen["first_name"] = window.form.edits["first_name"].text()
        seen["crm"] = window.crm_label.text()
        window.close()
        seen["closed_without_pin"] = not window.isVisible()
        window.close_without_pin()
        return True

    timer = _poll(when_form_shows, [DEADLINE_MS])

    status = run_kiosk(_args(tmp_path, camera))

    timer.stop()
    assert status == 0
    assert seen["first_name"] == "Lia"
    assert seen["crm"] == "Demo CRM (local)"
    assert seen["closed_without_pin"] is False
    assert _kiosk_window() is None


def test_run_kiosk_closes_on_sigterm(
    qapp: QApplication, tmp_path: Path, user_folders: None
) -> None:
    camera = write_camera_folder(tmp_path / "camera", [])

    def send_sigterm(window: MainWindow) -> bool:
        os.kill(os.getpid(), signal.SIGTERM)
        return True

    previous = signal.getsignal(signal.SIGTERM)
    timer = _poll(send_sigterm, [DEADLINE_MS])

    status = run_kiosk(_args(tmp_path, camera))

    timer.stop()
    assert status == 0
    assert _kiosk_window() is None
    assert signal.getsignal(signal.SIGTERM) is previous
