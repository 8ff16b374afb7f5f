"""The capture worker: camera frames read and decoded off the GUI thread."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage

from kiosk.capture.types import DecodedCode, Frame, FrameSource
from kiosk.config import CaptureSettings
from kiosk.gui.worker_base import _ThreadedWorker

log = logging.getLogger(__name__)


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
