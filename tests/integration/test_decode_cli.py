from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.capture.render import qr_image, render_badge_frame, write_qr_png
from kiosk.capture.types import DecodedCode, Image

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;José;;;\r\nFN:José Müller\r\n"
    "EMAIL:jose.muller@example.com\r\nEND:VCARD\r\n"
)


def _run_decode(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "decode", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )


def _lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def test_decode_prints_one_line_per_image(tmp_path: Path) -> None:
    vcard = write_qr_png(VCARD, tmp_path / "vcard.png")
    url = tmp_path / "url.jpg"
    cv2.imwrite(str(url), render_badge_frame("https://example.com/a?b=1", seed=2))
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), render_badge_frame("x", seed=1)[:120, :120])

    result = _run_decode(str(vcard), str(url), str(blank))

    assert result.returncode == 0, result.stderr.decode()
    lines = _lines(result)
    assert [line["file"] for line in lines] == [str(vcard), str(url), str(blank)]
    first = lines[0]
    assert first["payload"] == VCARD
    assert first["codes"][0]["text"] == VCARD  # type: ignore[index]
    assert first["codes"][0]["decoder"] == "zxing"  # type: ignore[index]
    assert first["error"] is None
    assert lines[1]["payload"] == "https://example.com/a?b=1"
    assert lines[2]["payload"] is None
    assert lines[2]["codes"] == []
    assert lines[2]["error"]["code"] == "no_code_found"  # type: ignore[index]


def test_decode_vcard_contact_parsed(tmp_path: Path) -> None:
    image = write_qr_png(VCARD, tmp_path / "vcard.png")
    line = _lines(_run_decode(str(image)))[0]
    contact = line["contact"]
    assert isinstance(contact, dict)
    assert contact["email"] == "jose.muller@example.com"
    assert contact["first_name"] == "José"


def test_decode_rejected_payload_reports_code(tmp_path: Path) -> None:
    image = write_qr_png("just some words", tmp_path / "words.png")
    line = _lines(_run_decode(str(image)))[0]
    assert line["payload"] == "just some words"
    assert line["contact"] is None
    assert line["error"]["code"] == "unrecognized_payload"  # type: ignore[index]


def test_decode_unreadable_image_exit_one(tmp_path: Path) -> None:
    good = write_qr_png("fine", tmp_path / "good.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a PNG")
    missing = "missing dir/none.png"

    result = _run_decode(str(broken), missing, str(good))

    assert result.returncode == 1
    lines = _lines(result)
    assert [line["file"] for line in lines] == [str(broken), missing, str(good)]
    assert lines[0]["error"]["code"] == "unreadable_image"  # type: ignore[index]
    assert lines[1]["error"]["code"] == "image_not_found"  # type: ignore[index]
    assert lines[2]["payload"] == "fine"


def _write_huge_png_header(path: Path, width: int, height: int) -> Path:
    """Write a PNG whose header declares ``width`` x ``height`` pixels, data 1 pixel."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunks = [(b"IHDR", header), (b"IDAT", zlib.compress(b"\x00\xff")), (b"IEND", b"")]
    data = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        data += struct.pack(">I", len(body)) + kind + body + crc
    path.write_bytes(data)
    return path


def test_decode_huge_image_rejected_batch_continues(tmp_path: Path) -> None:
    first = write_qr_png("first", tmp_path / "first.png")
    huge = _write_huge_png_header(tmp_path / "huge.png", 60_000, 60_000)
    large = _write_huge_png_header(tmp_path / "large.png", 13_000, 12_000)
    last = write_qr_png("last", tmp_path / "last.png")

    result = _run_decode(str(first), str(huge), str(large), str(last))

    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    lines = _lines(result)
    assert [line["file"] for line in lines] == [
        str(first), str(huge), str(large), str(last)
    ]  # fmt: skip
    assert lines[0]["payload"] == "first"
    assert lines[1]["error"]["code"] == "image_too_large"  # type: ignore[index]
    assert lines[2]["error"]["code"] == "image_too_large"  # type: ignore[index]
    assert "13000x12000" in lines[2]["error"]["message"]  # type: ignore[index]
    assert lines[3]["payload"] == "last"


def test_decode_non_utf8_file_name(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/badge\xff.png"
    write_qr_png(VCARD, os.fsdecode(name))

    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"kiosk", b"decode", name],
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr.decode(errors="replace")
    line = _lines(result)[0]
    assert os.fsencode(str(line["file"])) == name
    assert line["payload"] == VCARD


def test_decode_transparent_png(tmp_path: Path) -> None:
    grey = qr_image(VCARD, 360)
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(grey == 0, 255, 0)
    path = tmp_path / "transparent.png"
    cv2.imwrite(str(path), rgba)

    line = _lines(_run_decode(str(path)))[0]

    assert line["payload"] == VCARD


def test_decode_error_reported_per_image(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kiosk.capture.decoders import DecoderChain
    from kiosk.commands import decode

    good = write_qr_png("good", tmp_path / "good.png")
    bad = write_qr_png("bad", tmp_path / "bad.png")
    real_decode_still = DecoderChain.decode_still
    calls: list[int] = []

    def decode_still(chain: DecoderChain, image: Image) -> list[DecodedCode]:
        calls.append(1)
        if len(calls) == 2:
            raise cv2.error("OpenCV(5.1.0) simulated failure\n> Invalid size")
        return real_decode_still(chain, image)

    monkeypatch.setattr(DecoderChain, "decode_still", decode_still)
    args = argparse.Namespace(config=None, images=[str(good), str(bad), str(good)])

    status = decode.run(args)

    assert status == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["payload"] for line in lines] == ["good", None, "good"]
    assert lines[1]["error"]["code"] == "unreadable_image"
    assert "Invalid size" in lines[1]["error"]["message"]
