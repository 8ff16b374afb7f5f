"""Start the kiosk window: QApplication, configuration, runtime, camera, window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from kiosk.capture.types import FrameSource
from kiosk.config import CaptureSettings, load_config
from kiosk.gui.main_window import MainWindow
from kiosk.pin import PinStore

log = logging.getLogger(__name__)

APPLICATION_NAME = "Booth kiosk"


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
            if args.windowed:
                window.resize(1280, 800)
                window.show()
            else:
                # Without a window manager (a bare X server, Xvfb) the full-screen
                # request is not honoured, so the geometry is set as well.
                window.setGeometry(window.screen().geometry())
                window.showFullScreen()
            status = app.exec()
        finally:
            window.shutdown()
    finally:
        runtime.close()
    return int(status)


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
