"""Decoder chain stages that use OpenCV's QR detectors and decoder.

OpenCV's own decoder returns text for non-UTF-8 payloads converted from ISO-8859-1,
which cannot be undone with certainty, so its results are reread by zxing-cpp or kept
only when ASCII (see :func:`_certain_opencv_bytes`).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from kiosk.capture.imaging import as_image
from kiosk.capture.stages import Corners, FrameViews, zxing_read
from kiosk.capture.textcodec import decode_payload
from kiosk.capture.types import DecodedCode, Image


def opencv_aruco(views: FrameViews) -> list[DecodedCode]:
    """Locate codes with OpenCV's Aruco-based detector, then decode each outline.

    Each outline is read by zxing-cpp on the rectified code and, when that fails, by
    OpenCV's own decoder, which applies error correction. A non-ASCII result of
    OpenCV's decoder is replaced by zxing-cpp's reading of OpenCV's flattened code, or
    dropped, for the reason given in :func:`_certain_opencv_bytes`.
    """
    detector = cv2.QRCodeDetectorAruco()
    found, points = detector.detectMulti(views.grey)
    if not found or points is None:
        return []
    codes: list[DecodedCode] = []
    for quad in points:
        corners = tuple((float(x), float(y)) for x, y in quad)
        views.seen.append(corners)
        codes += _rectified_read(views.grey, quad) or _opencv_decode(
            views.grey, quad, corners
        )
    return codes


def _opencv_decode(
    grey: Image, quad: np.ndarray, corners: Corners
) -> list[DecodedCode]:
    decoder = cv2.QRCodeDetector()
    try:
        raw, straight = decoder.decodeBytes(
            grey, quad.reshape(1, 4, 2).astype(np.float32)
        )
    except cv2.error:
        return []
    if not raw:
        return []
    payload = _certain_opencv_bytes(bytes(raw))
    if payload is None:
        reread = _read_straight_code(straight)
        return [
            replace(code, decoder="opencv-aruco", corners=corners) for code in reread
        ]
    eci = decoder.getEncoding()
    text = decode_payload(payload, eci if eci > 0 else None)
    return [DecodedCode(text.text, payload, "opencv-aruco", corners, text.error)]


def opencv_curved(views: FrameViews) -> list[DecodedCode]:
    """OpenCV's decoder for codes on curved surfaces, such as a badge on a sleeve.

    zxing-cpp rereads the flattened code that OpenCV returns, so the payload's bytes
    are the stored ones. When zxing-cpp cannot read it, OpenCV's text is kept only if
    it is ASCII, because only then are the stored bytes certain.
    """
    detector = cv2.QRCodeDetector()
    try:
        text, points, straight = detector.detectAndDecodeCurved(views.grey)
    except (cv2.error, UnicodeDecodeError):
        # OpenCV 5.1 raises UnicodeDecodeError when the payload is not UTF-8.
        return []
    if not text or points is None:
        return []
    corners = tuple((float(x), float(y)) for x, y in points.reshape(-1, 2))
    reread = _read_straight_code(straight)
    if reread:
        return [
            replace(code, decoder="opencv-curved", corners=corners) for code in reread
        ]
    payload = _certain_opencv_bytes(text.encode("utf-8"))
    if payload is None:
        return []
    decoded = decode_payload(payload)
    return [DecodedCode(decoded.text, payload, "opencv-curved", corners, decoded.error)]


def _certain_opencv_bytes(returned: bytes) -> bytes | None:
    """Return OpenCV's payload bytes when they are the stored ones, else ``None``.

    OpenCV 5.1 returns a byte-mode payload that is not valid UTF-8 as its ISO-8859-1
    reading encoded in UTF-8, so a Shift_JIS 0xC3 0xBD comes back as 0xC3 0x83 0xC2
    0xBD. Any non-ASCII result may be such a conversion or a UTF-8 payload, and the
    two cannot be distinguished, so only an ASCII result is certain.
    """
    if returned.isascii():
        return returned
    return None


def _read_straight_code(straight: object) -> list[DecodedCode]:
    """Read OpenCV's flattened, binarized code (one pixel a module) with zxing-cpp."""
    if not isinstance(straight, np.ndarray) or straight.ndim != 2 or not straight.size:
        return []
    scale = max(1, 240 // max(straight.shape))
    enlarged = cv2.resize(
        as_image(straight), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST
    )
    quiet = 4 * scale
    framed = cv2.copyMakeBorder(
        enlarged, quiet, quiet, quiet, quiet, cv2.BORDER_CONSTANT, value=255
    )
    return zxing_read(as_image(framed), "opencv-curved", try_invert=True)


def _rectified_read(grey: Image, quad: np.ndarray) -> list[DecodedCode]:
    side = 400.0
    margin = side * 0.1
    target = np.array(
        [[margin, margin], [margin + side, margin], [margin + side, margin + side],
         [margin, margin + side]],
        dtype=np.float32,
    )  # fmt: skip
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    size = int(side + 2 * margin)
    warped = cv2.warpPerspective(
        grey, matrix, (size, size), flags=cv2.INTER_CUBIC, borderValue=255
    )
    inverse = np.linalg.inv(matrix)

    def back(x: float, y: float) -> tuple[float, float]:
        point = inverse @ np.array([x, y, 1.0])
        return (float(point[0] / point[2]), float(point[1] / point[2]))

    return zxing_read(
        as_image(warped), "zxing-rectified", transform=back, try_invert=True
    )
