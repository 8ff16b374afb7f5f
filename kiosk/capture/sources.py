"""Camera sources: webcams, device paths, video files, folders of images and ``demo``.

Every source follows :class:`kiosk.capture.types.FrameSource`. Sources also carry
``realtime``: a webcam produces frames whether or not anyone reads them, so the capture
loop drops the ones it has no time for, while files and the demo wait for the reader.
File and demo frames are stamped with their media time (start + index / fps), so
de-duplication behaves as in playback at full speed even when decoding is slower.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from kiosk.capture.demo import demo_payloads
from kiosk.capture.errors import CameraError, ImageReadError
from kiosk.capture.imaging import load_image
from kiosk.capture.render import background_frame, render_badge_frame
from kiosk.capture.types import Frame, FrameSource, Image
from kiosk.config import CaptureSettings

log = logging.getLogger(__name__)

if os.environ.get("OPENCV_LOG_LEVEL", "").upper() == "ERROR":
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mjpeg"})
FOLDER_HOLD_FRAMES = 6
DEMO_BADGE_S = 3.0
DEMO_GAP_S = 1.0

ACCEPTED_SPECS = (
    "a webcam index (0, 1, ...), a device path (/dev/video0), a video file "
    f"({', '.join(sorted(VIDEO_SUFFIXES))}), a folder of images "
    f"({', '.join(sorted(IMAGE_SUFFIXES))}), or 'demo'"
)


class VideoCaptureLike(Protocol):
    """The part of ``cv2.VideoCapture`` the webcam source uses."""

    def isOpened(self) -> bool: ...  # OpenCV's name

    def read(self) -> tuple[bool, Image | None]: ...

    def set(self, prop_id: int, value: float) -> bool: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str], VideoCaptureLike]


class _Pacer:
    """Spaces reads ``1 / fps`` apart in media time without ever skipping a frame."""

    def __init__(self, fps: float, paced: bool) -> None:
        self.interval = 1.0 / fps if fps > 0 else 1.0 / 30
        self.paced = paced
        self.start = time.monotonic()
        self.index = 0

    def next_frame(self, image: Image) -> Frame:
        due = self.start + self.index * self.interval
        if self.paced:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, self.interval))
        frame = Frame(image=image, index=self.index, timestamp=due)
        self.index += 1
        return frame


class FolderSource:
    """Images of a folder sorted by name, each shown ``hold_frames`` frames, once.

    Files without an image suffix are skipped. An image that cannot be read or is too
    large is skipped with a warning.
    """

    realtime = False

    def __init__(
        self,
        folder: Path,
        settings: CaptureSettings,
        *,
        hold_frames: int = FOLDER_HOLD_FRAMES,
        paced: bool = True,
    ) -> None:
        self.paths = sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: p.name,
        )
        if not self.paths:
            raise CameraError(
                f"Folder {folder} contains no images "
                f"({', '.join(sorted(IMAGE_SUFFIXES))}). Add images or choose another "
                "camera."
            )
        self.description = f"Images in {folder}"
        self.hold_frames = max(1, hold_frames)
        self._pacer = _Pacer(settings.fps, paced)
        self._position = 0
        self._shown = 0
        self._current: Image | None = None

    @property
    def ended(self) -> bool:
        return self._position >= len(self.paths)

    def read(self) -> Frame | None:
        while self._current is None and not self.ended:
            self._current = self._load(self.paths[self._position])
            if self._current is None:
                self._position += 1
        if self._current is None:
            return None
        # A copy per frame, so a consumer drawing on one frame cannot alter the next.
        frame = self._pacer.next_frame(self._current.copy())
        self._shown += 1
        if self._shown >= self.hold_frames:
            self._shown = 0
            self._position += 1
            self._current = None
        return frame

    def close(self) -> None:
        self._position = len(self.paths)
        self._current = None

    @staticmethod
    def _load(path: Path) -> Image | None:
        try:
            return load_image(path)
        except ImageReadError as exc:
            log.warning("Skipping image: %s", exc.message)
            return None


class VideoFileSource:
    """A video file, played once at its own frame rate."""

    realtime = False

    def __init__(self, path: Path, settings: CaptureSettings, *, paced: bool = True):
        if not _is_utf8(str(path)):
            raise CameraError(
                f"Cannot open video file {path}: its name is not valid UTF-8, which "
                "OpenCV cannot open. Rename the file or choose another camera."
            )
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise CameraError(
                f"Cannot open video file {path}: OpenCV cannot read it. "
                "Convert it to MP4 (H.264) or choose another camera."
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS) or float(settings.fps)
        self.description = f"Video {path.name}"
        self._pacer = _Pacer(fps, paced)
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def read(self) -> Frame | None:
        if self._ended:
            return None
        ok, image = self._capture.read()
        if not ok or image is None:
            self._ended = True
            self._capture.release()
            return None
        return self._pacer.next_frame(np.asarray(image, dtype=np.uint8))

    def close(self) -> None:
        self._ended = True
        self._capture.release()


class WebcamSource:
    """A webcam by index or device path; raises :class:`CameraError` when it fails.

    After a failure, :meth:`reopen` tries to open the device again; the capture loop
    calls it until it succeeds.
    """

    realtime = True

    def __init__(
        self,
        device: int | str,
        settings: CaptureSettings,
        *,
        capture_factory: CaptureFactory | None = None,
    ) -> None:
        self.device = device
        self.settings = settings
        self.description = (
            f"Webcam {device}" if isinstance(device, int) else f"Camera {device}"
        )
        self._factory: CaptureFactory = capture_factory or _open_cv_capture
        self._capture: VideoCaptureLike | None = None
        self._index = 0
        self._closed = False
        self.reopen()

    @property
    def ended(self) -> bool:
        return self._closed

    def reopen(self) -> None:
        """Open the device (again) and apply the resolution and frame rate settings.

        Raises:
            CameraError: the device cannot be opened.
        """
        self._release()
        capture = self._factory(self.device)
        if not capture.isOpened():
            capture.release()
            raise CameraError(
                f"{self.description} cannot be opened. Check that it is connected and "
                "not used by another program, or choose another camera."
            )
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, float(self.settings.width))
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self.settings.height))
        capture.set(cv2.CAP_PROP_FPS, float(self.settings.fps))
        self._capture = capture

    def read(self) -> Frame | None:
        if self._closed:
            return None
        if self._capture is None:
            raise CameraError(f"{self.description} is not open.")
        ok, image = self._capture.read()
        if not ok or image is None:
            self._release()
            raise CameraError(f"{self.description} stopped delivering frames.")
        frame = Frame(np.asarray(image, dtype=np.uint8), self._index, time.monotonic())
        self._index += 1
        return frame

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _open_cv_capture(device: int | str) -> VideoCaptureLike:
    if isinstance(device, str) and not _is_utf8(device):
        raise CameraError(
            f"Camera device {device!r} has a name that is not valid UTF-8, which "
            "OpenCV cannot open. Choose another camera."
        )
    capture: VideoCaptureLike = cv2.VideoCapture(device)  # type: ignore[assignment]
    return capture


def _is_utf8(name: str) -> bool:
    """Return whether ``name`` encodes as UTF-8.

    OpenCV 5.1 (opencv-python-headless) crashes the process when given a file name with
    lone surrogates, which is how Python represents bytes that are not valid UTF-8.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class DemoSource:
    """Generated badges of made-up visitors, each shown for a few seconds, forever.

    Each badge is followed by an empty scene, so showing the same visitor again later
    counts as a new scan.
    """

    realtime = False

    def __init__(self, settings: CaptureSettings, *, paced: bool = True) -> None:
        self.description = "Demo badges"
        self.width = settings.width
        self.height = settings.height
        self.payloads = demo_payloads()
        self._pacer = _Pacer(settings.fps, paced)
        self._badge_frames = max(1, round(DEMO_BADGE_S * settings.fps))
        self._cycle = self._badge_frames + max(1, round(DEMO_GAP_S * settings.fps))
        self._cache: dict[int, Image] = {}
        self._closed = False

    @property
    def ended(self) -> bool:
        return self._closed

    def read(self) -> Frame | None:
        if self._closed:
            return None
        index = self._pacer.index
        visitor, offset = divmod(index, self._cycle)
        key = visitor % len(self.payloads) if offset < self._badge_frames else -1
        return self._pacer.next_frame(self._scene(key).copy())

    def close(self) -> None:
        self._closed = True
        self._cache.clear()

    def _scene(self, key: int) -> Image:
        if key not in self._cache:
            if key < 0:
                rng = np.random.default_rng(12345)
                image = background_frame(self.width, self.height, rng)
            else:
                image = render_badge_frame(
                    self.payloads[key], width=self.width, height=self.height, seed=key
                )
            self._cache[key] = image
        return self._cache[key]


def open_source(
    spec: str, settings: CaptureSettings, *, paced: bool = True
) -> FrameSource:
    """Open the camera named by ``spec`` (the ``--camera`` value).

    Args:
        spec: a webcam index, a device path, a video file, a folder of images, or
            ``demo``.
        settings: resolution and frame rate; files and the demo are paced at ``fps``.
        paced: ``False`` delivers file and demo frames as fast as they are read.

    Raises:
        CameraError: ``spec`` is not one of the accepted forms, or cannot be opened.
    """
    text = spec.strip()
    if not text:
        raise CameraError(f"The camera value is empty. {_accepted()}")
    if text.lower() == "demo":
        return DemoSource(settings, paced=paced)
    if text.isdigit():
        try:
            return WebcamSource(int(text), settings)
        except CameraError as exc:
            raise CameraError(f"{exc} {_accepted()}") from exc
    path = Path(text).expanduser()
    if text.startswith("/dev/video"):
        if not path.exists():
            raise CameraError(f"Camera device {text} does not exist. {_accepted()}")
        try:
            return WebcamSource(text, settings)
        except CameraError as exc:
            raise CameraError(f"{exc} {_accepted()}") from exc
    if path.is_dir():
        return FolderSource(path, settings, paced=paced)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileSource(path, settings, paced=paced)
    if path.exists():
        raise CameraError(
            f"Camera {spec!r} is not a video file or folder. {_accepted()}"
        )
    raise CameraError(f"Camera {spec!r} not found. {_accepted()}")


def _accepted() -> str:
    return f"Use {ACCEPTED_SPECS}."


def default_source(settings: CaptureSettings) -> FrameSource:
    """Open webcam 0 if there is one, else the demo badges.

    The source's ``description`` names which one it is, for the screen.
    """
    if sys.platform.startswith("linux") and not Path("/dev/video0").exists():
        log.info("No webcam at /dev/video0; showing demo badges")
    else:
        try:
            return WebcamSource(0, settings)
        except CameraError as exc:
            log.info("Webcam 0 is not available (%s); showing demo badges", exc)
    demo = DemoSource(settings)
    demo.description = "Demo badges (no webcam found)"
    return demo
