"""Start the kiosk window: QApplication, configuration, runtime, camera, window."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from kiosk.capture.types import FrameSource
from kiosk.config import CaptureSettings, load_config
from kiosk.gui.main_window import MainWindow
from kiosk.pin import PinStore

log = logging.getLogger(__name__)

APPLICATION_NAME = "Booth kiosk"
TERMINATE_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_kiosk(args: argparse.Namespace) -> int:
    """Open the kiosk window with the ``kiosk`` command's options and run it.

    Returns:
        The Qt event loop's exit status once the window has closed.

    Raises:
        KioskError: the configuration, the CRM URL or the camera is unusable.
    """
    from kiosk.runtime import Runtime

    config = load_config(args.config)
    app = application()
    runtime = Runtime(config, args.db, args.crm_url)
    try:
        source = open_camera(args.camera, config.capture)
        window = MainWindow(runtime, source, PinStore())
        window.start()
        try:
            with closing_on_terminate_signals(window):
                show_window(window, windowed=args.windowed)
                status = app.exec()
        finally:
            window.shutdown()
    finally:
        runtime.close()
    return int(status)


def show_window(window: MainWindow, *, windowed: bool) -> None:
    """Show the window at 1280x800, or full screen unless ``windowed``."""
    if windowed:
        window.resize(1280, 800)
        window.show()
        return
    # Without a window manager (a bare X server, Xvfb) the full-screen request is not
    # honoured, so the geometry is set as well.
    window.setGeometry(window.screen().geometry())
    window.showFullScreen()


@contextmanager
def closing_on_terminate_signals(window: MainWindow) -> Iterator[None]:
    """Close the window without the PIN on SIGINT or SIGTERM (Ctrl+C, a service stop).

    Python runs a signal handler only when it next executes Python code, which it
    does not do while Qt's event loop waits, so a timer gives it a turn every 200 ms.
    The previous handlers are restored on exit.
    """

    def on_signal(number: int, _frame: object) -> None:
        log.info("Received signal %d; closing the kiosk", number)
        QTimer.singleShot(0, window.close_without_pin)

    previous = {number: signal.getsignal(number) for number in TERMINATE_SIGNALS}
    for number in TERMINATE_SIGNALS:
        signal.signal(number, on_signal)
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(200)
    try:
        yield
    finally:
        timer.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def application() -> QApplication:
    """Return the running QApplication, or create one with the kiosk's style."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION_NAME)
    app.setWindowIcon(QIcon(_resource_path("icons/kiosk.svg")))
    app.setStyleSheet(stylesheet())
    return app


def stylesheet() -> str:
    """Return the kiosk's Qt stylesheet (large, touch-friendly controls)."""
    import resources

    return resources.read_text("style.qss")


def open_camera(spec: str | None, settings: CaptureSettings) -> FrameSource:
    """Open ``--camera``, or webcam 0 (else the demo badges) when it is not given.

    Raises:
        CameraError: the camera named by ``spec`` cannot be opened.
    """
    from kiosk.capture.sources import default_source, open_source

    if spec is None:
        return default_source(settings)
    return open_source(spec, settings)


def _resource_path(relative_path: str) -> str:
    from importlib import resources as importlib_resources

    return str(importlib_resources.files("resources").joinpath(relative_path))
