"""Run one blocking call (import, export, connection test) off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from kiosk.errors import KioskError

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


class _JobRunner(QObject):
    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[[ProgressCallback], Any]) -> None:
        super().__init__()
        self._function = function

    @Slot()
    def run(self) -> None:
        try:
            result = self._function(self.progressed.emit)
        except KioskError as exc:
            logger.info("background job stopped: %s", type(exc).__name__)
            self.failed.emit(str(exc))
        except Exception as exc:
            logger.exception("background job failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


class BackgroundJob(QObject):
    """One call run in its own QThread, reporting progress through signals.

    The call receives a ``progress(done, total)`` callback that it may call from the
    worker thread; the signals reach the GUI thread through queued connections.

    Signals:
        progressed(int, int): units done and the total (0 when unknown).
        succeeded(object): the call's return value.
        failed(str): the error message when the call raised.
        finished(): emitted last, after ``succeeded`` or ``failed``, once the thread
            has stopped.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        function: Callable[[ProgressCallback], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("staff-job")
        self._runner = _JobRunner(function)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progressed.connect(self.progressed)
        self._runner.succeeded.connect(self._on_succeeded)
        self._runner.failed.connect(self._on_failed)
        self._outcome: tuple[str, Any] | None = None

    def start(self) -> None:
        """Start the call in the worker thread."""
        self._thread.start()

    def is_running(self) -> bool:
        """Is the worker thread still running?"""
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the worker thread ends; return False on timeout."""
        return self._thread.wait(timeout_ms)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self._finish()
        self.succeeded.emit(result)
        self.finished.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)
        self.finished.emit()

    def _finish(self) -> None:
        self._thread.quit()
        self._thread.wait()
