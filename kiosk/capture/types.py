"""Frames and decoded codes: the values the capture thread hands to its consumers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An OpenCV image: BGR ``(height, width, 3)`` or grey ``(height, width)``, uint8."""


@dataclass(frozen=True)
class DecodedCode:
    """One QR code read from a frame.

    Attributes:
        text: the payload as text, or ``""`` when its bytes could not be decoded
            (``text_error`` then gives the reason).
        raw: the payload's bytes as stored in the code, except that zbar 0.23 in
            binary mode converts ECI segments to UTF-8 itself. OpenCV results are kept
            only when their bytes are certain (ASCII, or reread by zxing-cpp).
        decoder: which decoder read it, e.g. ``"zxing"``, ``"zxing-upscale"``,
            ``"pyzbar"``, ``"opencv-aruco"``.
        corners: the code's four corners in frame pixel coordinates, clockwise from
            top-left, or ``()`` when the decoder gives none.
        text_error: ``""``, or why ``raw`` could not be turned into text.
    """

    text: str
    raw: bytes
    decoder: str
    corners: tuple[tuple[float, float], ...] = ()
    text_error: str = ""


@dataclass(frozen=True)
class Frame:
    """A camera frame with its sequence number and capture time (``time.monotonic``)."""

    image: Image
    index: int
    timestamp: float


class FrameSource(Protocol):
    """A camera or stand-in for one: a webcam, a device path, a video, images, demo.

    ``read`` blocks for at most about one frame interval and returns ``None`` when no
    frame is ready. ``ended`` is true once a finite source (video file, folder) has no
    more frames.
    A webcam that fails raises :class:`kiosk.capture.errors.CameraError` from ``read``.
    """

    description: str

    def read(self) -> Frame | None: ...

    @property
    def ended(self) -> bool: ...

    def close(self) -> None: ...
