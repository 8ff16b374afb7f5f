from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.capture.debounce import Debouncer
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.errors import CameraError
from kiosk.capture.loop import (
    STATUS_DISCONNECTED,
    STATUS_FAILED,
    STATUS_RECONNECTED,
    CaptureLoop,
    run_until_ended,
)
from kiosk.capture.render import qr_image, render_badge_frame
from kiosk.capture.sources import FolderSource, WebcamSource
from kiosk.capture.types import DecodedCode, Frame, Image
from kiosk.config import CaptureSettings

from .conftest import VCARD_ACCENTS, VCARD_CJK


class Recorder:
    """Collects what a capture loop reports."""

    def __init__(self) -> None:
        self.frames: list[tuple[Frame, list[DecodedCode]]] = []
        self.accepted: list[DecodedCode] = []
        self.statuses: list[tuple[float, str]] = []

    def loop(
        self, source: object, chain: DecoderChain, **kwargs: object
    ) -> CaptureLoop:
        return CaptureLoop(
            source,  # type: ignore[arg-type]
            chain,
            Debouncer(2.0),
            on_frame=lambda frame, codes: self.frames.append((frame, codes)),
            on_accept=self.accepted.append,
            on_status=lambda text: self.statuses.append((time.monotonic(), text)),
            **kwargs,  # type: ignore[arg-type]
        )


def _wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_thirty_identical_frames_one_acceptance(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "badge.png"), render_badge_frame(VCARD_ACCENTS, seed=1))
    source = FolderSource(tmp_path, CaptureSettings(), hold_frames=30, paced=False)
    recorder = Recorder()
    loop = recorder.loop(source, DecoderChain())
    run_until_ended(loop, timeout_s=60)
    assert loop.stats.decoded == 30
    assert [code.text for code in recorder.accepted] == [VCARD_ACCENTS]
    assert all(codes for _, codes in recorder.frames)


def test_second_code_in_view_accepted(tmp_path: Path) -> None:
    first = _paste(np.full((720, 1280), 190, dtype=np.uint8), VCARD_ACCENTS, 100)
    cv2.imwrite(str(tmp_path / "1.png"), first)
    cv2.imwrite(str(tmp_path / "2.png"), _paste(first.copy(), VCARD_CJK, 760))
    source = FolderSource(tmp_path, CaptureSettings(), hold_frames=5, paced=False)
    recorder = Recorder()
    run_until_ended(recorder.loop(source, DecoderChain()), timeout_s=60)
    assert [code.text for code in recorder.accepted] == [VCARD_ACCENTS, VCARD_CJK]


def _paste(frame: Image, text: str, left: int) -> Image:
    code = qr_image(text, 400)
    size = code.shape[0]
    frame[150 : 150 + size, left : left + size] = code
    return frame


def test_mirror_flips_preview_not_decoding(tmp_path: Path) -> None:
    image = render_badge_frame("mirrored preview", seed=4)
    cv2.imwrite(str(tmp_path / "1.png"), image)
    source = FolderSource(tmp_path, CaptureSettings(), hold_frames=1, paced=False)
    recorder = Recorder()
    run_until_ended(recorder.loop(source, DecoderChain(), mirror=True), timeout_s=30)
    frame, codes = recorder.frames[0]
    assert np.array_equal(frame.image, image[:, ::-1])
    assert [code.text for code in codes] == ["mirrored preview"]
    xs = [x for x, _ in codes[0].corners]
    original = DecoderChain().decode_live(image)[0].corners
    assert min(xs) == pytest.approx(1279 - max(x for x, _ in original), abs=1.0)


class PluggableCamera:
    """A webcam stand-in that can be unplugged and plugged back in."""

    def __init__(self, frame: Image, frames_before_failure: int) -> None:
        self.frame = frame
        self.frames_before_failure = frames_before_failure
        self.plugged = True
        self.opens = 0
        self.lock = threading.Lock()

    def open(self, device: int | str) -> FakeCapture:
        with self.lock:
            self.opens += 1
            return FakeCapture(self, self.plugged)


class FakeCapture:
    """cv2.VideoCapture interface over a :class:`PluggableCamera`, at 30 fps."""

    def __init__(self, camera: PluggableCamera, opened: bool) -> None:
        self.camera = camera
        self.opened = opened

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, Image | None]:
        time.sleep(1 / 30)
        with self.camera.lock:
            if not self.camera.plugged or self.camera.frames_before_failure <= 0:
                self.camera.plugged = False
                return False, None
            self.camera.frames_before_failure -= 1
        return True, self.camera.frame

    def set(self, prop_id: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.opened = False


@pytest.mark.expected_log("kiosk.capture.loop")
def test_failed_webcam_reopened_within_three_seconds() -> None:
    camera = PluggableCamera(render_badge_frame("webcam", seed=3), 10)
    source = WebcamSource(0, CaptureSettings(), capture_factory=camera.open)
    recorder = Recorder()
    loop = recorder.loop(source, DecoderChain())
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: not camera.plugged, 10), "camera never failed"
        assert _wait_for(lambda: recorder.statuses, 5)
        assert recorder.statuses[0][1] == STATUS_DISCONNECTED
        time.sleep(1.0)  # stay unplugged through a few reopen attempts
        assert loop.stats.reopened == 0
        read_before = loop.stats.read
        with camera.lock:
            camera.frames_before_failure = 1000
            camera.plugged = True
        returned_at = time.monotonic()
        assert _wait_for(lambda: loop.stats.read > read_before, 3.0)
        assert time.monotonic() - returned_at < 3.0
        assert loop.stats.reopened == 1
        assert recorder.statuses[-1][1] == STATUS_RECONNECTED
        assert [code.text for code in recorder.accepted] == ["webcam"]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


class SlowChain(DecoderChain):
    """The real chain, made slower than the camera to show frames are dropped."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.decoded_indices: list[int] = []
        self.current_index = -1

    def decode_live(self, image: Image) -> list[DecodedCode]:
        time.sleep(self.delay_s)
        self.decoded_indices.append(int(image[0, 0, 0]))
        return super().decode_live(image)


class CountingCamera:
    """A realtime source at 30 fps whose frames carry their index in pixel (0, 0)."""

    realtime = True
    description = "counting camera"

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.index = 0
        self.base = render_badge_frame("counting", seed=6)

    @property
    def ended(self) -> bool:
        return self.index >= self.frames

    def read(self) -> Frame | None:
        if self.ended:
            return None
        time.sleep(1 / 30)
        image = self.base.copy()
        image[0, 0, 0] = self.index % 256
        frame = Frame(image, self.index, time.monotonic())
        self.index += 1
        return frame

    def close(self) -> None:
        self.index = self.frames


def test_slow_decoding_drops_frames_not_queues() -> None:
    camera = CountingCamera(frames=60)
    chain = SlowChain(delay_s=0.15)
    recorder = Recorder()
    loop = recorder.loop(camera, chain)
    started = time.monotonic()
    run_until_ended(loop, timeout_s=30)
    elapsed = time.monotonic() - started
    assert loop.stats.read == 60
    assert len(recorder.frames) == 60  # every frame is still shown
    assert loop.stats.dropped > 30
    assert loop.stats.decoded + loop.stats.dropped <= 60
    # No backlog: reading took about as long as the camera, not 60 decodes.
    assert elapsed < 60 * 0.15
    # The decoder always took the newest frame, so the indices jump ahead.
    gaps = np.diff(chain.decoded_indices)
    assert gaps.max() >= 3
    assert [code.text for code in recorder.accepted] == ["counting"]


class FailingChain(DecoderChain):
    """A decoder chain that raises on the frames whose index is listed."""

    def __init__(self, failing: set[int]) -> None:
        super().__init__()
        self.failing = failing
        self.calls = 0

    def decode_live(self, image: Image) -> list[DecodedCode]:
        index = self.calls
        self.calls += 1
        if index in self.failing:
            raise cv2.error("simulated OpenCV failure")
        return super().decode_live(image)


@pytest.mark.expected_log("kiosk.capture.loop")
def test_decode_error_skips_frame_not_loop(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "1.png"), render_badge_frame(VCARD_ACCENTS, seed=1))
    cv2.imwrite(str(tmp_path / "2.png"), render_badge_frame(VCARD_CJK, seed=2))
    source = FolderSource(tmp_path, CaptureSettings(), hold_frames=3, paced=False)
    recorder = Recorder()
    loop = recorder.loop(source, FailingChain({0, 1, 3}))

    run_until_ended(loop, 30.0)

    assert [code.text for code in recorder.accepted] == [VCARD_ACCENTS, VCARD_CJK]
    assert loop.stats.decoded == 3
    assert loop.failure is None


class BrokenSource:
    """A finite source that fails for good after two frames and cannot be reopened."""

    realtime = False
    description = "broken"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.reads = 0
        self.closed = False

    @property
    def ended(self) -> bool:
        return self.closed

    def read(self) -> Frame | None:
        self.reads += 1
        if self.reads > 2:
            raise self.error
        image = render_badge_frame("still fine", seed=self.reads)
        return Frame(image, self.reads, float(self.reads))

    def close(self) -> None:
        self.closed = True


@pytest.mark.expected_log("kiosk.capture.loop")
@pytest.mark.parametrize(
    "error", [CameraError("disk gone"), OSError("read failed")], ids=repr
)
def test_source_failure_reported(error: Exception) -> None:
    recorder = Recorder()
    loop = recorder.loop(BrokenSource(error), DecoderChain())

    run_until_ended(loop, 30.0)

    assert [code.text for code in recorder.accepted] == ["still fine"]
    assert loop.failure is not None
    assert str(error) in loop.failure
    assert [text for _, text in recorder.statuses] == [STATUS_FAILED]
