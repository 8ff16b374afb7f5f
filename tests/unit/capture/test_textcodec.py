from __future__ import annotations

import pytest

from kiosk.capture.textcodec import decode_payload, guess_legacy_encoding


@pytest.mark.parametrize(
    ("raw", "eci", "expected"),
    [
        ("José 李".encode(), None, "José 李"),
        ("テスト漢字".encode("shift_jis"), None, "テスト漢字"),
        ("Café".encode("latin-1"), None, "Café"),
        ("Ελλάδα".encode("iso8859-7"), 9, "Ελλάδα"),
        ("José".encode(), 26, "José"),
        ("Привет".encode("cp1251"), 22, "Привет"),
    ],
)
def test_decode_payload_rules(raw: bytes, eci: int | None, expected: str) -> None:
    result = decode_payload(raw, eci)
    assert result.text == expected
    assert result.error == ""


def test_decode_payload_never_uses_zbar_big5_guess() -> None:
    # zbar read this UTF-8 as Big5 ("Jos矇"); UTF-8 validity must win.
    assert decode_payload("José".encode()).text == "José"


def test_undecodable_bytes_report_error() -> None:
    result = decode_payload(b"\x81\x82\x83\xff")
    assert result.text == ""
    assert "not valid" in result.error


def test_bytes_invalid_for_declared_eci() -> None:
    result = decode_payload(b"\xff\xfe\xfd", 26)
    assert result.text == ""
    assert "ECI 26" in result.error


def test_unknown_eci_reported() -> None:
    result = decode_payload(b"abc", 899)
    assert result.text == ""
    assert "899" in result.error


def test_katakana_word_guessed_shift_jis() -> None:
    assert guess_legacy_encoding("ｱｲ".encode("shift_jis")) == "shift_jis"


def test_latin1_letters_guessed_latin1() -> None:
    assert guess_legacy_encoding("Grüße aus Köln".encode("latin-1")) == "latin-1"
