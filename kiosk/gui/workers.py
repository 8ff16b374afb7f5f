"""Worker objects that keep camera, database and HTTP work off the GUI thread.

Each worker is a QObject moved to its own QThread. The blocking ones (capture, sync,
the sync status poll) run a plain Python loop that checks a ``threading.Event`` stop
flag. The store worker runs the thread's event loop and takes requests as queued
signals. Signals
carry ids and frozen dataclasses across threads, never ORM objects. ``stop()`` sets the
flag, then calls ``quit()`` and ``wait()`` on the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from kiosk.capture.types import DecodedCode, Frame, FrameSource
from kiosk.config import CaptureSettings
from kiosk.contacts.model import Contact, PayloadRejected
from kiosk.pipeline import LeadPipeline, merge_fields

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


@dataclass(frozen=True)
class PreviewFrame:
    """A camera frame ready to paint, with the outlines of the codes found in it.

    Attributes:
        image: the frame as a QImage that shares ``pixels``' memory.
        pixels: the OpenCV image behind ``image``, kept alive with it.
        outlines: each code's corners in frame pixels, clockwise from top-left.
        index: the frame's sequence number.
    """

    image: QImage
    pixels: np.ndarray
    outlines: tuple[tuple[tuple[float, float], ...], ...]
    index: int


@dataclass(frozen=True)
class AcceptedCode:
    """A code the de-duplication accepted, with the time it was accepted.

    Attributes:
        code: the decoded code.
        accepted_at: ``time.monotonic()`` when the capture thread accepted it.
    """

    code: DecodedCode
    accepted_at: float


def frame_to_qimage(pixels: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Wrap an OpenCV BGR or grey image in a QImage without copying its pixels.

    Returns:
        The QImage and the contiguous array it reads from, which must outlive it.
    """
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image_format = QImage.Format.Format_Grayscale8
    else:
        image_format = QImage.Format.Format_BGR888
    image = QImage(pixels.data, width, height, pixels.strides[0], image_format)
    return image, pixels


class CaptureWorker(_ThreadedWorker):
    """Runs :class:`kiosk.capture.loop.CaptureLoop` on a camera source.

    Preview frames are not queued: the worker keeps only the newest one and emits
    ``frame_ready`` once until the GUI takes it with :meth:`take_frame`, so a slow paint
    drops frames instead of piling them up.

    Signals:
        frame_ready(): a new preview frame is waiting in :meth:`take_frame`.
        code_accepted(AcceptedCode): a newly accepted code.
        status_changed(str): a camera message, e.g. "Camera disconnected, retrying...".
        finished(): the loop has returned (source ended, stop requested or an error).
    """

    frame_ready = Signal()
    code_accepted = Signal(object)
    status_changed = Signal(str)

    def __init__(self, source: FrameSource, settings: CaptureSettings) -> None:
        super().__init__("kiosk-capture")
        self.source = source
        self._settings = settings
        self._lock = threading.Lock()
        self._latest: PreviewFrame | None = None
        self._signalled = False

    def take_frame(self) -> PreviewFrame | None:
        """Return the newest preview frame, or ``None`` when it was already taken."""
        with self._lock:
            frame, self._latest = self._latest, None
            self._signalled = False
        return frame

    def _run(self) -> None:
        from kiosk.capture.debounce import Debouncer
        from kiosk.capture.decoders import DecoderChain
        from kiosk.capture.loop import CaptureLoop

        loop = CaptureLoop(
            self.source,
            DecoderChain(),
            Debouncer(hold_s=self._settings.debounce_s),
            on_frame=self._on_frame,
            on_accept=self._on_accept,
            on_status=self.status_changed.emit,
        )
        log.debug("Capture started on %s", self.source.description)
        loop.run(self._stop_event)
        log.debug("Capture loop returned")

    def _on_frame(self, frame: Frame, codes: list[DecodedCode]) -> None:
        image, pixels = frame_to_qimage(frame.image)
        outlines = tuple(code.corners for code in codes if code.corners)
        preview = PreviewFrame(image, pixels, outlines, frame.index)
        with self._lock:
            self._latest = preview
            notify = not self._signalled
            self._signalled = True
        if notify:
            self.frame_ready.emit()

    def _on_accept(self, code: DecodedCode) -> None:
        self.code_accepted.emit(AcceptedCode(code, time.monotonic()))


# -- sync -------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ScanResult:
    """A scanned code parsed and matched against the leads already captured.

    Attributes:
        accepted: the accepted code.
        contact: the contact draft, or ``None`` when the payload was rejected.
        rejection: the parser's rejection, or ``None``.
        fields: the lead fields of the new scan (contact fields plus the event).
        duplicate: the earlier lead of the same visitor (``LeadSummary``), or ``None``.
        existing_fields: that lead's current fields, empty without a duplicate.
    """

    accepted: AcceptedCode
    contact: Contact | None
    rejection: PayloadRejected | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    duplicate: Any = None
    existing_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def payload_text(self) -> str:
        """Return the code's text, or its bytes decoded with replacement characters."""
        code = self.accepted.code
        return code.text or code.raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class SaveRequest:
    """A lead the operator confirmed.

    Attributes:
        fields: the lead fields to save.
        lead_id: the lead to give a new revision, or ``None`` for a new lead.
        payload_text: the scanned payload, ``""`` for manual entry.
        check_duplicate: look for an earlier lead of the same visitor first and, when
            there is one, emit ``duplicate_found`` instead of saving.
        merge_existing: with ``lead_id``, merge ``fields`` into that lead's stored
            fields (a non-empty value replaces the stored one, an empty one keeps it).
    """

    fields: Mapping[str, Any]
    lead_id: str | None = None
    payload_text: str = ""
    check_duplicate: bool = False
    merge_existing: bool = False


@dataclass(frozen=True)
class SaveResult:
    """A saved lead: its id, revision and capture time."""

    lead_id: str
    revision: int
    captured_at: Any


class StoreWorker(QObject):
    """Parses scans, looks up duplicates and saves leads in its own thread.

    Call :meth:`submit_scan` and :meth:`submit_save` from the GUI thread; they return at
    once and the result arrives as a signal.

    Signals:
        scan_ready(ScanResult): a scan parsed and checked for a duplicate.
        duplicate_found(SaveRequest, object): a save with ``check_duplicate`` matched
            the given earlier lead (``LeadSummary``); nothing was saved.
        saved(SaveResult): the lead is durable.
        save_failed(str): the save failed; the message is for the operator.
    """

    scan_ready = Signal(object)
    duplicate_found = Signal(object, object)
    saved = Signal(object)
    save_failed = Signal(str)

    _scan_requested = Signal(object)
    _save_requested = Signal(object)
    _metric_requested = Signal(str, float)
    _stop_requested = Signal()

    def __init__(self, runtime: Any) -> None:
        super().__init__()
        self._runtime = runtime
        self._pipeline = LeadPipeline(runtime)
        self._thread = QThread()
        self._thread.setObjectName("kiosk-store")
        self.moveToThread(self._thread)
        self._scan_requested.connect(self._handle_scan)
        self._save_requested.connect(self._handle_save)
        self._metric_requested.connect(self._handle_metric)
        self._stop_requested.connect(self._quit_loop)

    def start(self) -> None:
        """Start the worker's thread and its event loop."""
        _running.add(self._thread)
        self._thread.start()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """End the event loop once the requests already submitted are done, and wait.

        The quit request is queued behind them, so a save submitted just before the
        window closes still reaches the database.
        """
        if self._thread.isRunning():
            self._stop_requested.emit()
        stopped = bool(self._thread.wait(timeout_ms))
        if stopped:
            _running.discard(self._thread)
        else:
            log.error("The store thread did not stop within %d ms", timeout_ms)
        return stopped

    def submit_scan(self, accepted: AcceptedCode) -> None:
        """Parse an accepted code and look for the visitor's earlier lead."""
        self._scan_requested.emit(accepted)

    def submit_save(self, request: SaveRequest) -> None:
        """Save a confirmed lead."""
        self._save_requested.emit(request)

    def record_metric(self, kind: str, value_ms: float) -> None:
        """Store one measurement in the metrics table."""
        self._metric_requested.emit(kind, value_ms)

    @Slot(object)
    def _handle_scan(self, accepted: AcceptedCode) -> None:
        try:
            contact = self._pipeline.parse_code(accepted.code)
        except PayloadRejected as exc:
            log.info("Scanned code is not a contact: %s", exc.code)
            self.scan_ready.emit(ScanResult(accepted, None, exc))
            return
        except Exception:
            # A parser bug must not leave the window waiting for this result.
            log.exception("Parsing a scanned code failed")
            failure = PayloadRejected(
                PARSE_FAILED,
                "This code could not be read. Enter the details by hand.",
            )
            self.scan_ready.emit(ScanResult(accepted, None, failure))
            return
        fields = self._pipeline.fields_for(contact)
        result = ScanResult(accepted, contact, None, fields)
        try:
            result = self._with_duplicate(result)
        except Exception:
            # The form still opens; the operator just gets no duplicate prompt.
            log.exception("Duplicate look-up failed")
        self.scan_ready.emit(result)

    def _with_duplicate(self, result: ScanResult) -> ScanResult:
        store = self._runtime.store
        contact = result.contact
        assert contact is not None
        duplicate = store.find_duplicate(
            email=contact.dedup_key,
            badge_id=contact.badge_id,
            payload_text=result.payload_text,
        )
        if duplicate is None:
            return result
        existing = store.get_lead(duplicate.lead_id)
        log.debug("Scan matches lead %s", duplicate.lead_id)
        return ScanResult(
            result.accepted,
            contact,
            None,
            result.fields,
            duplicate,
            dict(existing.fields),
        )

    @Slot(object)
    def _handle_save(self, request: SaveRequest) -> None:
        try:
            if request.check_duplicate and request.lead_id is None:
                duplicate = self._find_duplicate(request.fields)
                if duplicate is not None:
                    self.duplicate_found.emit(request, duplicate)
                    return
            fields = request.fields
            if request.merge_existing and request.lead_id is not None:
                existing = self._runtime.store.get_lead(request.lead_id)
                fields = merge_fields(existing.fields, fields)
            saved = self._runtime.save_lead(
                fields, request.lead_id, payload_text=request.payload_text
            )
        except Exception as exc:
            log.exception("Saving a lead failed")
            self.save_failed.emit(
                f"The lead could not be saved ({type(exc).__name__}). "
                "Try again; if it keeps failing, call the staff."
            )
            return
        self.saved.emit(SaveResult(saved.lead_id, saved.revision, saved.captured_at))

    def _find_duplicate(self, fields: Mapping[str, Any]) -> Any:
        from kiosk.store.fields import email_key

        return self._runtime.store.find_duplicate(
            email=email_key(str(fields.get("email", ""))),
            badge_id=str(fields.get("badge_id", "")),
        )

    @Slot()
    def _quit_loop(self) -> None:
        self._thread.quit()

    @Slot(str, float)
    def _handle_metric(self, kind: str, value_ms: float) -> None:
        self._runtime.record_metric(kind, value_ms)
