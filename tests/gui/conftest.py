"""Fixtures for the kiosk window tests: a runtime on temporary files, QR folders, PINs.

Every window opened through :func:`open_kiosk` is shut down at teardown, before its
runtime closes. A test fails when a worker thread of :mod:`kiosk.gui.workers` is still
running after it, or when a window it opened is still visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from kiosk.capture.render import write_qr_png
from kiosk.capture.sources import open_source
from kiosk.config import parse_config
from kiosk.gui.app import stylesheet
from kiosk.gui.main_window import MainWindow
from kiosk.gui.workers import running_threads
from kiosk.pin import PinStore
from kiosk.runtime import Runtime

OpenKiosk = Callable[..., MainWindow]


def vcard(first: str, last: str, email: str, **extra: str) -> str:
    """Return a vCard 3.0 payload with CRLF line ends."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{last};{first};;;",
        f"FN:{first} {last}",
    ]
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{email}")
    lines.extend(f"{key.upper()}:{value}" for key, value in extra.items())
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def write_camera_folder(folder: Path, payloads: list[str]) -> Path:
    """Write one QR image a payload (or a blank frame for none) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not payloads:
        blank = np.full((360, 640, 3), 200, dtype=np.uint8)
        cv2.imwrite(str(folder / "000-blank.png"), blank)
    for index, payload in enumerate(payloads):
        write_qr_png(payload, folder / f"{index:03d}-badge.png")
    return folder


@pytest.fixture(autouse=True)
def _kiosk_style(qapp: QApplication) -> None:
    qapp.setStyleSheet(stylesheet())


@pytest.fixture(autouse=True)
def _no_worker_threads_left() -> Iterator[None]:
    yield
    leftovers = running_threads()
    assert not leftovers, f"worker threads still running: {leftovers}"


@pytest.fixture
def pin_store(tmp_path: Path) -> PinStore:
    """A PIN store on a temporary file, with no PIN set and no KIOSK_PIN."""
    return PinStore(tmp_path / "pin" / "staff_pin.json", environ={})


@pytest.fixture
def open_kiosk(qtbot: Any, tmp_path: Path, pin_store: PinStore) -> Iterator[OpenKiosk]:
    """Return a function that opens a started kiosk window on a QR folder camera.

    The function takes these keyword arguments:

    - ``payloads``: the QR payloads the camera shows, in order. None gives one blank
      frame.
    - ``kiosk``: the ``[kiosk]`` configuration table.
    - ``before_start``: called with the runtime before the window starts, for
      example to save an earlier lead.
    - ``store``: a PIN store to use instead of the ``pin_store`` fixture.
    """
    opened: list[tuple[MainWindow, Runtime]] = []

    def open_window(
        payloads: list[str] | None = None,
        kiosk: dict[str, Any] | None = None,
        before_start: Callable[[Runtime], None] | None = None,
        store: PinStore | None = None,
    ) -> MainWindow:
        index = len(opened)
        config = parse_config({"kiosk": {"event": "Test Expo", **(kiosk or {})}})
        runtime = Runtime(
            config,
            f"sqlite:///{tmp_path / f'leads-{index}.sqlite3'}",
            None,
            crm_data_dir=tmp_path / f"crm-{index}",
        )
        try:
            if before_start is not None:
                before_start(runtime)
            folder = write_camera_folder(tmp_path / f"camera-{index}", payloads or [])
            source = open_source(str(folder), config.capture)
            window = MainWindow(runtime, source, store or pin_store)
        except BaseException:
            runtime.close()
            raise
        qtbot.addWidget(window)
        opened.append((window, runtime))
        window.resize(1280, 800)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        window.start()
        return window

    yield open_window

    for window, runtime in reversed(opened):
        window.shutdown()
        window._close_allowed = True
        window.close()
        runtime.close()
        assert not window.isVisible()
