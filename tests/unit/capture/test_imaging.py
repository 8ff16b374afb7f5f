"""Reading image files: odd names, transparency, huge sizes and broken files."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import PIL.Image
import pytest

from kiosk.capture import imaging
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.errors import ImageReadError
from kiosk.capture.imaging import load_image, read_image
from kiosk.capture.render import qr_image, render_badge_frame

from .conftest import VCARD_ACCENTS, VCARD_CJK


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png_header_only(path: Path, width: int, height: int) -> Path:
    """Write a PNG whose header declares ``width`` x ``height`` grey pixels.

    Its data contains one row, so the file stays small while the size check sees a
    huge image.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" + b"\xff" * min(width, 4096))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", row)
        + _png_chunk(b"IEND", b"")
    )
    return path


def _decoded_texts(image: np.ndarray) -> list[str]:
    return [code.text for code in DecoderChain().decode_still(image)]


def test_non_utf8_file_name_read(tmp_path: Path) -> None:
    frame = render_badge_frame(VCARD_CJK, seed=4)
    ok, encoded = cv2.imencode(".png", frame)
    assert ok
    name = os.fsencode(tmp_path) + b"/badge\xff\xfe.png"
    with open(name, "wb") as handle:
        handle.write(encoded.tobytes())

    from_bytes = load_image(name)
    from_str = load_image(os.fsdecode(name))

    assert _decoded_texts(from_bytes) == [VCARD_CJK]
    assert np.array_equal(from_bytes, from_str)


def test_transparent_background_composited_on_white(tmp_path: Path) -> None:
    grey = qr_image(VCARD_ACCENTS, 400)
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(grey == 0, 255, 0)  # black modules, transparent background
    path = tmp_path / "transparent.png"
    PIL.Image.fromarray(rgba, "RGBA").save(path)
    # The case to guard: without alpha, OpenCV shows black modules on black.
    flattened = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert _decoded_texts(flattened) == []

    image = load_image(path)

    assert image.shape == (*grey.shape, 3)
    assert image[0, 0].tolist() == [255, 255, 255]
    assert _decoded_texts(image) == [VCARD_ACCENTS]


def test_palette_transparency_composited(tmp_path: Path) -> None:
    grey = qr_image("palette code", 300)
    palette = PIL.Image.fromarray(np.where(grey == 0, 1, 0).astype(np.uint8), "P")
    palette.putpalette([0, 0, 0, 0, 0, 0])  # both entries black, entry 0 transparent
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)

    assert _decoded_texts(load_image(path)) == ["palette code"]


def test_huge_header_rejected_before_decoding(tmp_path: Path) -> None:
    path = write_png_header_only(tmp_path / "huge.png", 20_000, 20_000)
    began = time.monotonic()
    with pytest.raises(ImageReadError) as raised:
        load_image(path)
    assert time.monotonic() - began < 5.0
    assert raised.value.code == "image_too_large"
    assert "huge.png" in raised.value.message
    assert read_image(path) is None


def test_over_pillow_limit_rejected(tmp_path: Path) -> None:
    path = write_png_header_only(tmp_path / "bomb.png", 60_000, 60_000)
    with pytest.raises(ImageReadError) as raised:
        load_image(path)
    assert raised.value.code == "image_too_large"


def test_large_image_downscaled_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imaging, "MAX_DECODE_PIXELS", 1_000_000)
    path = tmp_path / "large.png"
    cv2.imwrite(str(path), qr_image(VCARD_ACCENTS, 2400))

    image = load_image(path)

    assert image.shape[0] * image.shape[1] <= 1_000_000
    assert _decoded_texts(image) == [VCARD_ACCENTS]


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "unreadable_image"), (b"not a PNG", "unreadable_image")],
)
def test_broken_file_unreadable(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as raised:
        load_image(path)
    assert raised.value.code == code


def test_missing_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError) as raised:
        load_image(tmp_path / "none.png")
    assert raised.value.code == "image_not_found"


def test_folder_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError) as raised:
        load_image(tmp_path)
    assert raised.value.code == "unreadable_image"
    assert "folder" in raised.value.message
