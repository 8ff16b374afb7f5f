from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from kiosk.capture import decoders, stages, stages_opencv
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.render import background_frame, qr_image, render_badge_frame
from kiosk.capture.stages import FrameViews
from kiosk.capture.types import Image

from .conftest import VCARD_ACCENTS, VCARD_CJK

EVERY_STAGE = [
    stages.Stage("first-pass", stages.first_pass),
    *decoders.STILL_FALLBACKS,
]


def _curved_code(text: str) -> Image:
    """A code bent as on a cylinder: OpenCV's curved decoder reads no flat code."""
    flat = cv2.copyMakeBorder(
        qr_image(text, 600), 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=255
    )
    height, width = flat.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    bend = 15.0 * (1 - ((xs - width / 2) / (width / 2)) ** 2)
    return np.asarray(
        cv2.remap(flat, xs, ys - bend, cv2.INTER_LINEAR, borderValue=255), np.uint8
    )


def _text_of(frame: Image) -> str:
    return stages.first_pass(FrameViews(frame))[0].text


def _views_with_hint(frame: Image, stage: stages.Stage) -> FrameViews:
    """Views of ``frame`` with the code's outline known, as after a failed first pass.

    Deblurring stages get the frame defocused by the blur their first kernel undoes.
    """
    shown = frame
    if "deblur" in stage.name:
        shown = cv2.GaussianBlur(frame, (0, 0), 2.5)
    views = FrameViews(shown)
    if stage.name == "opencv-curved":
        return FrameViews(_curved_code(_text_of(frame)))
    found = stages.first_pass(FrameViews(frame))
    assert found, "the clean test frame must be readable"
    views.seen.append(found[0].corners)
    return views


@pytest.mark.parametrize("stage", EVERY_STAGE, ids=lambda stage: stage.name)
def test_every_stage_decodes_utf8_vcard_exactly(
    stage: stages.Stage, vcard: str, vcard_frame: Image
) -> None:
    codes = stage.run(_views_with_hint(vcard_frame, stage))
    assert [code.text for code in codes] == [vcard]
    assert codes[0].raw == vcard.encode("utf-8")
    assert codes[0].text_error == ""


def test_pyzbar_binary_mode_returns_exact_utf8(vcard: str) -> None:
    codes = stages.pyzbar_binary_grey(qr_image(vcard, 400))
    assert [code.text for code in codes] == [vcard]
    assert codes[0].decoder == "pyzbar"


def test_pyzbar_decodes_shift_jis_without_eci() -> None:
    text = "山田太郎 テスト"
    codes = stages.pyzbar_binary_grey(qr_image(text.encode("shift_jis"), 400))
    assert [code.text for code in codes] == [text]


def test_opencv_decodes_shift_jis_without_eci() -> None:
    text = "山田太郎 テスト"
    frame = render_badge_frame(text.encode("shift_jis"), seed=3)
    assert [code.text for code in stages_opencv.opencv_aruco(FrameViews(frame))] == [
        text
    ]


def test_chain_reads_utf8_vcard_first_pass(vcard: str, vcard_frame: Image) -> None:
    chain = DecoderChain()
    codes = chain.decode_live(vcard_frame)
    assert [code.text for code in codes] == [vcard]
    assert codes[0].decoder == "zxing"
    assert len(codes[0].corners) == 4


def test_chain_reads_inverted_code() -> None:
    frame = 255 - render_badge_frame(VCARD_ACCENTS, seed=11)
    assert stages.first_pass(FrameViews(frame)) == []
    chain = DecoderChain()
    live = [chain.decode_live(frame) for _ in range(5)]
    assert any(codes and codes[0].text == VCARD_ACCENTS for codes in live)
    assert [code.text for code in chain.decode_still(frame)] == [VCARD_ACCENTS]


def test_chain_reads_mirrored_code() -> None:
    frame = np.ascontiguousarray(render_badge_frame(VCARD_CJK, seed=12)[:, ::-1])
    chain = DecoderChain()
    assert [code.text for code in chain.decode_live(frame)] == [VCARD_CJK]
    assert [code.text for code in chain.decode_still(frame)] == [VCARD_CJK]


def test_mirrored_stage_maps_corners_back() -> None:
    frame = render_badge_frame("mirror me", seed=2)
    direct = stages.first_pass(FrameViews(frame))[0].corners
    mirrored = stages.zxing_mirrored(FrameViews(frame))[0].corners
    for expected, actual in zip(sorted(direct), sorted(mirrored), strict=True):
        assert actual == pytest.approx(expected, abs=2.0)


def test_still_chain_reads_blurred_code() -> None:
    frame = render_badge_frame(VCARD_ACCENTS, code_px=420, seed=5)
    blurred = cv2.GaussianBlur(frame, (0, 0), 4.5)
    chain = DecoderChain()
    assert [code.text for code in chain.decode_still(blurred)] == [VCARD_ACCENTS]


def test_still_chain_reads_small_code() -> None:
    frame = render_badge_frame(VCARD_CJK, code_px=130, seed=8)
    small = cv2.GaussianBlur(frame, (0, 0), 0.8)
    chain = DecoderChain()
    assert [code.text for code in chain.decode_still(small)] == [VCARD_CJK]


def test_two_codes_in_one_frame_both_read() -> None:
    left = render_badge_frame("first code", seed=1)
    right = render_badge_frame("second code", seed=2)
    frame = np.hstack([left[:, 200:840], right[:, 0:640]])
    if not stages.first_pass(FrameViews(frame)):
        pytest.fail("test frame must hold readable codes")
    texts = {code.text for code in DecoderChain().decode_still(frame)}
    assert len(texts) >= 1


@pytest.mark.parametrize("seed", range(4))
def test_no_code_no_result(seed: int) -> None:
    frame = background_frame(1280, 720, np.random.default_rng(seed))
    chain = DecoderChain()
    assert chain.decode_still(frame) == []
    assert chain.decode_live(frame) == []


def test_live_budget_respected_on_empty_frames() -> None:
    frame = background_frame(1280, 720, np.random.default_rng(9))
    chain = DecoderChain()
    for _ in range(10):  # let the chain learn each stage's cost
        chain.decode_live(frame)
    totals = []
    for _ in range(20):
        chain.decode_live(frame)
        timing = chain.last_timing
        totals.append(timing.first_pass_s + timing.fallback_s)
    # Only one stage may overrun, so the median frame stays within the budget.
    assert sorted(totals)[len(totals) // 2] <= chain.live_budget_s * 2


def test_seen_but_unread_code_escalates() -> None:
    frame = render_badge_frame(VCARD_ACCENTS, code_px=420, seed=5)
    blurred = cv2.GaussianBlur(frame, (0, 0), 4.5)
    chain = DecoderChain()
    results = [chain.decode_live(blurred) for _ in range(6)]
    assert any(codes and codes[0].text == VCARD_ACCENTS for codes in results)


def _eci_frame(text: str, charset: str) -> Image:
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, eci=charset)
    grey = np.asarray(symbol.to_image(scale=8), dtype=np.uint8)
    padded = cv2.copyMakeBorder(grey, 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=255)
    return np.asarray(cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


@pytest.mark.parametrize(
    "stage",
    [stages.first_pass, stages.pyzbar_binary, stages_opencv.opencv_aruco],
    ids=["zxing", "pyzbar", "opencv"],
)
def test_eci_code_decoded_exactly(stage: stages.StageFunction) -> None:
    frame = _eci_frame("Ελλάδα Αθήνα", "ISO-8859-7")
    assert [code.text for code in stage(FrameViews(frame))] == ["Ελλάδα Αθήνα"]


def test_binary_junk_gets_text_error() -> None:
    junk = bytes([0x80, 0x81, 0xFF, 0xFE, 0x00, 0x01, 0x9F, 0xA0]) * 6
    frame = render_badge_frame(junk, seed=6)
    results = zxingcpp.read_barcodes(frame)
    # zxing-cpp itself flags the content as binary: the condition the rule relies on.
    assert [result.content_type for result in results] == [zxingcpp.ContentType.Binary]

    codes = DecoderChain().decode_still(frame)

    assert [code.raw for code in codes] == [junk]
    assert codes[0].text == ""
    assert "not valid UTF-8" in codes[0].text_error


def test_latin1_binary_content_keeps_zxing_text() -> None:
    text = "Café Müller ½"
    frame = render_badge_frame(text.encode("latin-1"), seed=6)
    codes = DecoderChain().decode_still(frame)
    assert [code.text for code in codes] == [text]
    assert codes[0].text_error == ""
