"""The capture loop: read frames, decode them, de-duplicate, report; no Qt.

:meth:`CaptureLoop.run` runs in a thread of the caller's choosing (the GUI wraps it in a
QThread worker) and calls every callback from that thread. For a realtime source (a
webcam), decoding runs in a helper thread that takes only the newest frame: a frame that
arrives while the decoder is busy replaces the waiting one, so frames are dropped, never
queued. Files and the demo wait for the reader, so each of their frames is decoded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2

from kiosk.capture.debounce import Debouncer
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.errors import CameraError
from kiosk.capture.imaging import as_image
from kiosk.capture.types import DecodedCode, Frame, FrameSource

log = logging.getLogger(__name__)

STATUS_DISCONNECTED = "Camera disconnected, retrying..."
STATUS_RECONNECTED = "Camera reconnected"
STATUS_FAILED = "Camera stopped; no more frames."
REOPEN_INTERVAL_S = 0.5
OUTLINE_HOLD_S = 0.3
_IDLE_WAIT_S = 0.005

FrameCallback = Callable[[Frame, list[DecodedCode]], None]


@dataclass
class LoopStats:
    """Frame counters of a capture loop run."""

    read: int = 0
    decoded: int = 0
    dropped: int = 0
    reopened: int = 0


class _LatestFrameSlot:
    """A one-frame mailbox: a new frame replaces one not yet taken."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False

    def put(self, frame: Frame) -> bool:
        """Offer a frame; return ``False`` if it replaced one never taken."""
        with self._condition:
            replaced = self._frame is not None
            self._frame = frame
            self._condition.notify()
            return not replaced

    def take(self) -> Frame | None:
        """Wait for a frame; return ``None`` once the slot is closed and empty."""
        with self._condition:
            while self._frame is None and not self._closed:
                self._condition.wait()
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class CaptureLoop:
    """Read frames from a source, decode them and report new codes.

    Args:
        source: where frames come from; a source with a ``reopen()`` method (a webcam)
            is reopened after it fails.
        chain: the decoder chain; used only by this loop's decoding thread.
        debouncer: decides which codes are new.
        on_frame: called with every frame shown and the codes last outlined in it.
            It must not draw on ``frame.image`` in place, because the decoding
            thread may still be reading that array: copy it first.
        on_accept: called once for each newly accepted code.
        on_status: called with camera messages, e.g. :data:`STATUS_DISCONNECTED`.
        mirror: flip the frames passed to ``on_frame`` left to right (a camera facing
            the visitor); codes are decoded from the unflipped frame.
        reopen_interval_s: wait between attempts to reopen a failed camera.

    Attributes:
        failure: ``None``, or why the source failed for good (a source that cannot be
            reopened raised an error, or the loop itself failed). ``on_status`` gets
            :data:`STATUS_FAILED` at the same time.
    """

    def __init__(
        self,
        source: FrameSource,
        chain: DecoderChain,
        debouncer: Debouncer,
        *,
        on_frame: FrameCallback,
        on_accept: Callable[[DecodedCode], None],
        on_status: Callable[[str], None],
        mirror: bool = False,
        reopen_interval_s: float = REOPEN_INTERVAL_S,
    ) -> None:
        self.source = source
        self.chain = chain
        self.debouncer = debouncer
        self.on_frame = on_frame
        self.on_accept = on_accept
        self.on_status = on_status
        self.mirror = mirror
        self.reopen_interval_s = reopen_interval_s
        self.stats = LoopStats()
        self.failure: str | None = None
        self._results: list[tuple[Frame, list[DecodedCode]]] = []
        self._results_lock = threading.Lock()
        self._outline: tuple[float, list[DecodedCode]] = (0.0, [])

    def run(self, stop: threading.Event) -> None:
        """Capture until ``stop`` is set, a finite source has ended or it failed.

        An unexpected error ends the run with :attr:`failure` set instead of escaping,
        because the caller's thread would otherwise end without a word.
        """
        try:
            if getattr(self.source, "realtime", False):
                self._run_realtime(stop)
            else:
                self._run_in_step(stop)
        except Exception as exc:
            log.exception("Capture loop failed")
            self._fail(f"capture failed: {type(exc).__name__}: {exc}")

    # --- sources that wait for the reader ---------------------------------------------

    def _run_in_step(self, stop: threading.Event) -> None:
        while not stop.is_set():
            frame = self._read(stop)
            if frame is None:
                if self.source.ended:
                    return
                continue
            codes = self._decode(frame)
            if codes is None:
                continue
            self.stats.decoded += 1
            self._show(frame, codes)
            self._accept(frame, codes)

    # --- realtime sources -------------------------------------------------------------

    def _run_realtime(self, stop: threading.Event) -> None:
        slot = _LatestFrameSlot()
        worker = threading.Thread(
            target=self._decode_frames, args=(slot,), name="capture-decode", daemon=True
        )
        worker.start()
        try:
            while not stop.is_set():
                frame = self._read(stop)
                self._deliver_results()
                if frame is None:
                    if self.source.ended:
                        break
                    continue
                if not slot.put(frame):
                    self.stats.dropped += 1
                self._show(frame, self._current_outline(frame))
        finally:
            slot.close()
            worker.join(timeout=5.0)
            self._deliver_results()

    def _decode_frames(self, slot: _LatestFrameSlot) -> None:
        while (frame := slot.take()) is not None:
            codes = self._decode(frame)
            if codes is None:
                continue
            with self._results_lock:
                self.stats.decoded += 1
                self._results.append((frame, codes))

    def _deliver_results(self) -> None:
        with self._results_lock:
            results, self._results = self._results, []
        for frame, codes in results:
            if codes:
                self._outline = (frame.timestamp, codes)
            self._accept(frame, codes)

    def _current_outline(self, frame: Frame) -> list[DecodedCode]:
        stamp, codes = self._outline
        return codes if frame.timestamp - stamp <= OUTLINE_HOLD_S else []

    # --- shared steps -----------------------------------------------------------------

    def _decode(self, frame: Frame) -> list[DecodedCode] | None:
        """Decode a frame, or log the error and return ``None`` to skip the frame."""
        try:
            return self.chain.decode_live(frame.image)
        except Exception:
            log.exception("Decoding frame %d failed; skipping it", frame.index)
            return None

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.on_status(STATUS_FAILED)

    def _read(self, stop: threading.Event) -> Frame | None:
        try:
            frame = self.source.read()
        except CameraError as exc:
            log.warning("Camera failed: %s", exc)
            self._recover(stop, str(exc))
            return None
        if frame is None:
            if not self.source.ended:
                stop.wait(_IDLE_WAIT_S)
            return None
        self.stats.read += 1
        return frame

    def _recover(self, stop: threading.Event, reason: str) -> None:
        reopen = getattr(self.source, "reopen", None)
        if reopen is None:
            self.source.close()
            self._fail(reason)
            return
        self.on_status(STATUS_DISCONNECTED)
        attempts = 0
        while not stop.wait(self.reopen_interval_s):
            attempts += 1
            try:
                reopen()
            except CameraError:
                if attempts % 20 == 1:
                    log.info("Camera still unavailable after %d attempts", attempts)
                continue
            self.stats.reopened += 1
            log.info("Camera reopened after %d attempts", attempts)
            self.on_status(STATUS_RECONNECTED)
            return

    def _show(self, frame: Frame, codes: list[DecodedCode]) -> None:
        if not self.mirror:
            self.on_frame(frame, codes)
            return
        width = frame.image.shape[1]
        flipped = replace(frame, image=as_image(cv2.flip(frame.image, 1)))
        mirrored = [
            replace(code, corners=_mirror_corners(code.corners, width))
            for code in codes
        ]
        self.on_frame(flipped, mirrored)

    def _accept(self, frame: Frame, codes: list[DecodedCode]) -> None:
        for code in self.debouncer.accept(codes, frame.timestamp):
            self.on_accept(code)


def _mirror_corners(
    corners: tuple[tuple[float, float], ...], width: int
) -> tuple[tuple[float, float], ...]:
    """Flip corners left to right, keeping them clockwise from the top-left one."""
    flipped = [(width - 1 - x, y) for x, y in corners]
    if len(flipped) == 4:
        flipped = [flipped[1], flipped[0], flipped[3], flipped[2]]
    return tuple(flipped)


def run_until_ended(loop: CaptureLoop, timeout_s: float) -> None:
    """Run ``loop`` in this thread until its source ends or ``timeout_s`` passes."""
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.daemon = True
    timer.start()
    try:
        loop.run(stop)
    finally:
        timer.cancel()
