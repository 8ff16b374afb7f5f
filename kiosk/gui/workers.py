"""Worker objects that keep camera, database and HTTP work off the GUI thread.

Each worker is a QObject moved to its own QThread. The blocking ones (capture, sync,
the sync status poll) run a plain Python loop that checks a ``threading.Event`` stop
flag. The store worker runs the thread's event loop and takes requests as queued
signals. Signals
carry ids and frozen dataclasses across threads, never ORM objects. ``stop()`` sets the
flag, then calls ``quit()`` and ``wait()`` on the thread.

The workers live in :mod:`kiosk.gui.capture_worker`, :mod:`kiosk.gui.sync_worker` and
:mod:`kiosk.gui.store_worker`; this module keeps their names importable in one place.
"""

from __future__ import annotations

from kiosk.gui.capture_worker import (
    AcceptedCode,
    CaptureWorker,
    PreviewFrame,
    frame_to_qimage,
)
from kiosk.gui.store_worker import SaveRequest, SaveResult, ScanResult, StoreWorker
from kiosk.gui.sync_worker import SyncStatusPoller, SyncWorker
from kiosk.gui.worker_base import (
    METRIC_SCAN_TO_FORM,
    PARSE_FAILED,
    STATUS_POLL_S,
    STOP_TIMEOUT_MS,
    running_threads,
)

__all__ = [
    "METRIC_SCAN_TO_FORM",
    "PARSE_FAILED",
    "STATUS_POLL_S",
    "STOP_TIMEOUT_MS",
    "AcceptedCode",
    "CaptureWorker",
    "PreviewFrame",
    "SaveRequest",
    "SaveResult",
    "ScanResult",
    "StoreWorker",
    "SyncStatusPoller",
    "SyncWorker",
    "frame_to_qimage",
    "running_threads",
]
