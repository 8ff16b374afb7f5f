"""The decoder chain's stages: one decoder applied to one view of a frame.

Every stage takes a :class:`FrameViews` (the frame plus views computed on demand and
shared between stages) and returns the codes it read. Stages return only codes that
passed their decoder's Reed-Solomon error correction: zxing-cpp results flagged invalid
are used only as hints that a code is in view (:attr:`FrameViews.seen`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from kiosk.capture import deblur
from kiosk.capture.imaging import as_image
from kiosk.capture.locate import Box, candidate_boxes
from kiosk.capture.textcodec import decode_payload
from kiosk.capture.types import DecodedCode, Image
from kiosk.capture.zbar import zbar_scan

Corners = tuple[tuple[float, float], ...]
Quad = tuple[tuple[float, float], ...]

# A code narrower than this many pixels is upscaled before it is read again.
SMALL_CODE_PX = 260
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
CROP_MARGIN = 0.25
DEBLUR_UPSCALE_MAX_PX = 600


class FrameViews:
    """A frame and the derived images the stages share, each computed once."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.seen: list[Quad] = []
        self.deadline = float("inf")  # time.perf_counter() value slow stages stop at
        self._grey: Image | None = None
        self._clahe: Image | None = None
        self._candidates: list[Box] | None = None

    @property
    def grey(self) -> Image:
        """The frame as a contiguous grey image."""
        if self._grey is None:
            if self.image.ndim == 3:
                self._grey = as_image(cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY))
            else:
                self._grey = np.ascontiguousarray(self.image)
        return self._grey

    @property
    def clahe(self) -> Image:
        """The grey frame after contrast-limited adaptive histogram equalisation."""
        if self._clahe is None:
            equaliser = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
            self._clahe = as_image(equaliser.apply(self.grey))
        return self._clahe

    def regions(self) -> list[Box]:
        """Return bounding boxes (x, y, w, h) with margin around codes seen so far."""
        height, width = self.grey.shape[:2]
        boxes = []
        for quad in self.seen:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            size = max(max(xs) - min(xs), max(ys) - min(ys), 8.0)
            margin = size * CROP_MARGIN
            left = int(max(0.0, min(xs) - margin))
            top = int(max(0.0, min(ys) - margin))
            right = int(min(float(width), max(xs) + margin))
            bottom = int(min(float(height), max(ys) + margin))
            if right - left >= 16 and bottom - top >= 16:
                boxes.append((left, top, right - left, bottom - top))
        return boxes

    def search_boxes(self) -> list[Box]:
        """Return the regions of codes seen so far, else code-like regions."""
        boxes = self.regions()
        if not boxes:
            if self._candidates is None:
                self._candidates = candidate_boxes(self.grey)
            boxes = self._candidates
        return boxes


StageFunction = Callable[[FrameViews], list[DecodedCode]]


@dataclass(frozen=True)
class Stage:
    """One try of the chain: its name, its function and whether live mode may run it."""

    name: str
    run: StageFunction
    live: bool = True


# --- zxing-cpp ------------------------------------------------------------------------


def zxing_read(
    grey: Image,
    decoder: str,
    *,
    views: FrameViews | None = None,
    transform: Callable[[float, float], tuple[float, float]] | None = None,
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
    try_invert: bool = False,
    is_pure: bool = False,
) -> list[DecodedCode]:
    """Read QR codes with zxing-cpp in plain text mode.

    Invalid results (a code found but not decoded) are not returned; their outlines are
    added to ``views.seen`` when ``views`` is given.
    """
    results = zxingcpp.read_barcodes(
        grey,
        formats=QR_ONLY,
        text_mode=zxingcpp.TextMode.Plain,
        binarizer=binarizer,
        try_invert=try_invert,
        is_pure=is_pure,
        return_errors=views is not None,
    )
    codes = []
    for result in results:
        corners = _zxing_corners(result.position, transform)
        if not result.valid:
            if views is not None:
                views.seen.append(corners)
            continue
        codes.append(_zxing_code(result, decoder, corners))
    return codes


def _zxing_code(
    result: zxingcpp.Barcode, decoder: str, corners: Corners
) -> DecodedCode:
    """Build a code from a zxing-cpp result, using zxing-cpp's text as it is.

    The one exception is content that zxing-cpp itself flags as binary (its
    ``content_type``) and whose bytes are not valid UTF-8, Shift_JIS or ISO-8859-1 by
    the rules of :func:`decode_payload`. zxing-cpp's ISO-8859-1 text for it would show
    control characters, so the code gets a ``text_error`` as from the other decoders.
    """
    raw = bytes(result.bytes)
    if result.content_type == zxingcpp.ContentType.Binary:
        checked = decode_payload(raw)
        if checked.error:
            return DecodedCode("", raw, decoder, corners, checked.error)
    return DecodedCode(result.text, raw, decoder, corners)


def _zxing_corners(
    position: zxingcpp.Position,
    transform: Callable[[float, float], tuple[float, float]] | None,
) -> Corners:
    points = (
        position.top_left,
        position.top_right,
        position.bottom_right,
        position.bottom_left,
    )
    corners = [(float(point.x), float(point.y)) for point in points]
    if transform is not None:
        corners = [transform(x, y) for x, y in corners]
    return tuple(corners)


def first_pass(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp on the grey frame, dark codes only: the cheap try on every frame."""
    return zxing_read(views.grey, "zxing", views=views)


def zxing_inverted(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp allowed to read light-on-dark codes too."""
    return zxing_read(views.grey, "zxing-inverted", views=views, try_invert=True)


def zxing_histogram(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp with its global histogram binarizer (helps uneven glare)."""
    return zxing_read(
        views.grey,
        "zxing-histogram",
        views=views,
        binarizer=zxingcpp.Binarizer.GlobalHistogram,
    )


def zxing_clahe(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp on the contrast-equalised frame (dim light, low contrast)."""
    return zxing_read(views.clahe, "zxing-clahe", views=views, try_invert=True)


def zxing_sharpen(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp on an unsharp-masked frame (slight blur)."""
    blurred = cv2.GaussianBlur(views.grey, (0, 0), 2.0)
    sharp = cv2.addWeighted(views.grey, 2.0, blurred, -1.0, 0)
    return zxing_read(as_image(sharp), "zxing-sharpen", views=views)


def zxing_downscale(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp on the frame at half size, where a blurred large code looks sharper."""
    half = cv2.resize(views.grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)

    def back(x: float, y: float) -> tuple[float, float]:
        return (x * 2.0, y * 2.0)

    return zxing_read(
        as_image(half), "zxing-downscale", views=views, transform=back, try_invert=True
    )


def zxing_mirrored(views: FrameViews) -> list[DecodedCode]:
    """zxing-cpp on the frame flipped left to right (codes seen through a mirror)."""
    width = views.grey.shape[1]
    flipped = np.ascontiguousarray(views.grey[:, ::-1])

    def unflip(x: float, y: float) -> tuple[float, float]:
        return (width - 1 - x, y)

    return zxing_read(flipped, "zxing-mirrored", transform=unflip, try_invert=True)


def zxing_upscale_regions(views: FrameViews) -> list[DecodedCode]:
    """Upscale the regions where a code was seen (or looks likely), and read them."""
    codes: list[DecodedCode] = []
    for left, top, width, height in views.search_boxes()[:3]:
        crop = views.grey[top : top + height, left : left + width]
        scale = min(4.0, max(2.0, SMALL_CODE_PX * 2 / max(width, height)))
        codes += _read_scaled(crop, scale, left, top, "zxing-upscale")
        if codes:
            break
    return codes


def zxing_upscale_frame(views: FrameViews) -> list[DecodedCode]:
    """Read the frame enlarged to twice its size, for small codes no stage located."""
    return _read_scaled(views.grey, 2.0, 0, 0, "zxing-upscale")


def _read_scaled(
    grey: Image, scale: float, left: int, top: int, decoder: str
) -> list[DecodedCode]:
    enlarged = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

    def back(x: float, y: float) -> tuple[float, float]:
        return (left + x / scale, top + y / scale)

    return zxing_read(as_image(enlarged), decoder, transform=back, try_invert=True)


def zxing_deblur(
    views: FrameViews,
    kernels: Sequence[deblur.Kernel],
    frame_kernels: Sequence[deblur.Kernel] = (),
) -> list[DecodedCode]:
    """Deconvolve code-like regions with each kernel and read them.

    Regions up to :data:`DEBLUR_UPSCALE_MAX_PX` wide are also read at twice their size.
    With no region to work on, the whole frame is tried with ``frame_kernels``. Stops
    at ``views.deadline``.
    """
    boxes = views.search_boxes()[:2]
    if not boxes:
        boxes = [(0, 0, views.grey.shape[1], views.grey.shape[0])]
        kernels = frame_kernels
    for box in boxes:
        for kernel in kernels:
            if time.perf_counter() >= views.deadline:
                return []
            codes = _deblur_box(views.grey, box, kernel)
            if codes:
                return codes
    return []


class DeblurSweep:
    """Deblur the likeliest code region with the next few kernels of a list.

    Each call continues where the previous one stopped, so consecutive live frames of
    a badge held in view sweep the whole kernel list at a few milliseconds a frame.
    """

    def __init__(self, kernels: Sequence[deblur.Kernel], per_call: int = 2) -> None:
        self.kernels = tuple(kernels)
        self.per_call = per_call
        self._next = 0

    def __call__(self, views: FrameViews) -> list[DecodedCode]:
        boxes = views.search_boxes()[:1]
        if not boxes or not self.kernels:
            return []
        for _ in range(self.per_call):
            kernel = self.kernels[self._next]
            self._next = (self._next + 1) % len(self.kernels)
            codes = _deblur_box(views.grey, boxes[0], kernel)
            if codes:
                return codes
        return []


def _deblur_box(grey: Image, box: Box, kernel: deblur.Kernel) -> list[DecodedCode]:
    left, top, width, height = box
    crop = grey[top : top + height, left : left + width]
    restored = deblur.wiener(crop, kernel)
    name = f"zxing-deblur-{kernel.name}"
    codes = zxing_read(restored, name, transform=_offset(left, top))
    if not codes and max(width, height) <= DEBLUR_UPSCALE_MAX_PX:
        codes = _read_scaled(restored, 2.0, left, top, name)
    return codes


def _offset(left: int, top: int) -> Callable[[float, float], tuple[float, float]]:
    def back(x: float, y: float) -> tuple[float, float]:
        return (left + x, top + y)

    return back


# --- zbar -----------------------------------------------------------------------------


def pyzbar_binary(views: FrameViews) -> list[DecodedCode]:
    """zbar in binary mode; its bytes are decoded by :func:`decode_payload`."""
    return [_zbar_code(raw, points) for raw, points in zbar_scan(views.grey)]


def pyzbar_binary_grey(grey: Image) -> list[DecodedCode]:
    """zbar in binary mode on a grey image (for tests and benchmarks)."""
    return [_zbar_code(raw, points) for raw, points in zbar_scan(grey)]


def _zbar_code(raw: bytes, points: Corners) -> DecodedCode:
    # NOTE: zbar 0.23 in binary mode converts a segment that has an ECI designator to
    # UTF-8 itself (checked with an ISO-8859-7 code), so ``raw`` is then that UTF-8 and
    # not the stored bytes. Bytes without ECI come back unchanged.
    text = decode_payload(raw)
    return DecodedCode(text.text, raw, "pyzbar", points, text.error)
