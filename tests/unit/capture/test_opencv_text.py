"""OpenCV's decoders must never return text whose stored bytes are uncertain."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.capture import stages_opencv
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.render import qr_image
from kiosk.capture.stages import FrameViews
from kiosk.capture.types import Image

KANA_TEXT = "ﾃｽﾄ ｶﾀｶﾅ ﾃﾞｽ mail@example.com"
KANA_SJIS = KANA_TEXT.encode("shift_jis")


def _bulged(payload: bytes, amplitude: float, blur: float = 0.0) -> Image:
    """A code pushed down in the middle as on a cylinder, so only OpenCV's curved
    decoder finds it."""
    modules = qr_image(payload, 1)
    flat = qr_image(payload, 8 * modules.shape[0])
    height, width = flat.shape
    out_height = int(height * (1 + amplitude)) + 20
    ys, xs = np.mgrid[0:out_height, 0:width].astype(np.float32)
    offset = amplitude * height * (1 - np.cos(np.pi * (xs / width - 0.5))) / 2
    image = cv2.remap(flat, xs, ys - offset, cv2.INTER_LINEAR, borderValue=255)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    return np.asarray(image, dtype=np.uint8)


@pytest.mark.parametrize(("amplitude", "blur"), [(0.3, 0.0), (0.1, 5 / 3), (0.2, 1.0)])
def test_curved_shift_jis_never_mojibake(amplitude: float, blur: float) -> None:
    image = _bulged(KANA_SJIS, amplitude, blur)
    opencv_text, _, _ = cv2.QRCodeDetector().detectAndDecodeCurved(image)
    # OpenCV 5.1 returns the Shift_JIS bytes read as ISO-8859-1: the case to guard.
    assert opencv_text == KANA_SJIS.decode("latin-1")

    stage_codes = stages_opencv.opencv_curved(FrameViews(image))
    chain_codes = DecoderChain().decode_still(image)

    for code in [*stage_codes, *chain_codes]:
        assert code.text in (KANA_TEXT, "")
        if code.text:
            assert code.raw == KANA_SJIS
        else:
            assert code.text_error
    assert [code.text for code in stage_codes] == [KANA_TEXT]
    assert stage_codes[0].decoder == "opencv-curved"
    assert len(stage_codes[0].corners) == 4


def test_curved_without_reread_keeps_only_ascii(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stages_opencv, "_read_straight_code", lambda straight: [])
    ascii_image = _bulged(b"mail@example.com", 0.1)
    kana_image = _bulged(KANA_SJIS, 0.3)

    ascii_codes = stages_opencv.opencv_curved(FrameViews(ascii_image))
    kana_codes = stages_opencv.opencv_curved(FrameViews(kana_image))

    assert [code.raw for code in ascii_codes] == [b"mail@example.com"]
    assert kana_codes == []


@pytest.mark.parametrize(
    "returned",
    [
        "é".encode(),  # a UTF-8 payload, or ISO-8859-1 0xE9 converted by OpenCV
        "Ã½Ä".encode(),  # Shift_JIS 0xC3 0xBD 0xC4 converted by OpenCV
        "\x8e\x52".encode(),  # C1 characters: a conversion in practice, still a guess
    ],
)
def test_non_ascii_opencv_bytes_uncertain(returned: bytes) -> None:
    assert stages_opencv._certain_opencv_bytes(returned) is None


def test_ascii_opencv_bytes_certain() -> None:
    assert stages_opencv._certain_opencv_bytes(b"BEGIN:VCARD") == b"BEGIN:VCARD"


def test_straight_code_reread_rejects_junk() -> None:
    assert stages_opencv._read_straight_code(None) == []
    assert stages_opencv._read_straight_code(np.zeros((0, 0), np.uint8)) == []
    assert stages_opencv._read_straight_code(np.full((29, 29), 255, np.uint8)) == []
