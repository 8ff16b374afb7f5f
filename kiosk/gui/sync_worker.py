"""The sync engine's worker and the sync status poll, each on its own QThread."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Signal

from kiosk.gui.worker_base import STATUS_POLL_S, _ThreadedWorker

log = logging.getLogger(__name__)


class SyncWorker(_ThreadedWorker):
    """Runs the sync engine's ``run_forever`` until stopped.

    Args:
        engine: a :class:`sync_daemon.engine.SyncEngine`.

    Signals:
        finished(): ``run_forever`` has returned.
    """

    def __init__(self, engine: Any) -> None:
        super().__init__("kiosk-sync")
        self.engine = engine

    def wake(self) -> None:
        """Ask the engine to look at the outbox now."""
        self.engine.wake()

    def pause(self) -> None:
        """Stop sending until :meth:`resume`; saving goes on."""
        self.engine.pause()

    def resume(self) -> None:
        """Send again after :meth:`pause`."""
        self.engine.resume()

    def _interrupt(self) -> None:
        self.engine.wake()

    def _run(self) -> None:
        log.debug("Sync thread started")
        self.engine.run_forever(self._stop_event)
        log.debug("Sync thread stopped")


class SyncStatusPoller(_ThreadedWorker):
    """Reads the sync engine's status every second, off the GUI thread.

    Signals:
        status_changed(object): the engine's ``EngineStatus``.
    """

    status_changed = Signal(object)

    def __init__(self, engine: Any, interval_s: float = STATUS_POLL_S) -> None:
        super().__init__("kiosk-sync-status")
        self._engine = engine
        self._interval_s = interval_s
        self._failures = 0

    def _run(self) -> None:
        while not self._stop_event.is_set():
            self._poll_once()
            self._stop_event.wait(self._interval_s)

    def _poll_once(self) -> None:
        try:
            status = self._engine.status()
        except Exception as exc:
            self._failures += 1
            if self._failures == 1 or self._failures % 60 == 0:
                log.warning(
                    "Could not read the sync status (%d failures so far): %s",
                    self._failures,
                    exc,
                )
            return
        self._failures = 0
        self.status_changed.emit(status)


# -- store ------------------------------------------------------------------------
