"""The QThread plumbing every kiosk worker shares, and the registry tests check.

Each worker is a QObject moved to its own QThread. ``stop()`` sets a
``threading.Event`` flag, then calls ``quit()`` and ``wait()`` on the thread.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 15_000
STATUS_POLL_S = 1.0
METRIC_SCAN_TO_FORM = "scan_to_form"
# Rejection code of a scan whose parsing raised an unexpected error.
PARSE_FAILED = "parse_failed"

_running: set[QThread] = set()


def running_threads() -> list[str]:
    """Return the names of worker threads started here and not yet stopped."""
    return sorted(thread.objectName() for thread in _running if thread.isRunning())


class _ThreadedWorker(QObject):
    """A QObject that runs ``_run`` in its own QThread until ``stop()``."""

    finished = Signal()

    def __init__(self, name: str) -> None:
        super().__init__()
        self._stop_event = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName(name)
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run_guarded)

    @property
    def stop_event(self) -> threading.Event:
        """The stop flag that the worker's loop checks."""
        return self._stop_event

    def start(self) -> None:
        """Start the worker's thread."""
        _running.add(self._thread)
        self._thread.start()

    def is_running(self) -> bool:
        """Is the worker's thread still running?"""
        return self._thread.isRunning()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Ask the loop to return, end the thread and wait for it.

        Returns:
            True when the thread has ended within ``timeout_ms``.
        """
        self._stop_event.set()
        self._interrupt()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if stopped:
            _running.discard(self._thread)
        else:
            log.error(
                "Worker thread %s did not stop within %d ms",
                self._thread.objectName(),
                timeout_ms,
            )
        return bool(stopped)

    def _interrupt(self) -> None:
        """Wake the loop if it waits on something other than the stop flag."""

    @Slot()
    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception(
                "Worker thread %s stopped on an error", self._thread.objectName()
            )
        finally:
            self.finished.emit()
            # The loop is all this thread does, so its event loop ends with it.
            self._thread.quit()

    def _run(self) -> None:
        """Run until the stop flag is set; subclasses with a loop override this."""


# -- capture ----------------------------------------------------------------------
