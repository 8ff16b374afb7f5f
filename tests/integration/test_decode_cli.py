from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2

from kiosk.capture.render import render_badge_frame, write_qr_png

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
