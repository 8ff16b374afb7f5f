"""Decoder chain stages that use OpenCV's QR detectors and decoder.

OpenCV's own decoder returns text for non-UTF-8 payloads converted from ISO-8859-1,
which :func:`_opencv_raw_bytes` undoes before the text rules of
:mod:`kiosk.capture.textcodec` apply.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.capture.imaging import as_image
from kiosk.capture.stages import Corners, FrameViews, zxing_read
from kiosk.capture.textcodec import decode_payload
from kiosk.capture.types import DecodedCode, Image


def opencv_aruco(views: FrameViews) -> list[DecodedCode]:
    """Locate codes with OpenCV's Aruco-based detector, then decode each outline.

    Each outline is read by zxing-cpp on the rectified code and, when that fails, by
    OpenCV's own decoder, which applies error correction.
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
        raw, _ = decoder.decodeBytes(grey, quad.reshape(1, 4, 2).astype(np.float32))
    except cv2.error:
        return []
    if not raw:
        return []
    payload = _opencv_raw_bytes(bytes(raw))
    eci = decoder.getEncoding()
    text = decode_payload(payload, eci if eci > 0 else None)
    return [DecodedCode(text.text, payload, "opencv-aruco", corners, text.error)]


def opencv_curved(views: FrameViews) -> list[DecodedCode]:
    """OpenCV's decoder for codes on curved surfaces, such as a badge on a sleeve."""
    detector = cv2.QRCodeDetector()
    try:
        text, points, _ = detector.detectAndDecodeCurved(views.grey)
    except (cv2.error, UnicodeDecodeError):
        # OpenCV 5.1 raises UnicodeDecodeError when the payload is not UTF-8.
        return []
    if not text or points is None:
        return []
    payload = _opencv_raw_bytes(text.encode("utf-8"))
    decoded = decode_payload(payload)
    corners = tuple((float(x), float(y)) for x, y in points.reshape(-1, 2))
    return [DecodedCode(decoded.text, payload, "opencv-curved", corners, decoded.error)]


def _opencv_raw_bytes(returned: bytes) -> bytes:
    """Undo OpenCV's conversion of non-UTF-8 payloads to UTF-8.

    OpenCV 5.1 returns a byte-mode payload that is not valid UTF-8 as its ISO-8859-1
    reading encoded in UTF-8 (a Shift_JIS 0x8E becomes U+008E). C1 control characters
    never occur in real text, so their presence marks such a conversion.
    """
    try:
        text = returned.decode("utf-8")
    except UnicodeDecodeError:
        return returned
    converted = any("\x80" <= char <= "\x9f" for char in text)
    if converted and all(char <= "\xff" for char in text):
        return text.encode("latin-1")
    # NOTE: a converted ISO-8859-1 payload without C1 bytes is indistinguishable from
    # UTF-8 text, so it stays as OpenCV returned it and is read as UTF-8.
    return returned


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
