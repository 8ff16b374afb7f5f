"""Turn a QR payload's raw bytes into text, by the rules ZXing applies.

zxing-cpp decodes text itself. The other decoders (zbar in binary mode, OpenCV) return
bytes, which are decoded here. The rules, in order: the ECI character set when the code
declares one, UTF-8 when the bytes are valid UTF-8, else the Shift_JIS or ISO-8859-1
guess that ZXing's ``StringUtils.guessEncoding`` makes. zbar's own encoding guess is
never used because it returns Big5 mojibake for UTF-8 vCards.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# ECI assignment numbers (AIM ECI specification) -> Python codec names.
ECI_CODECS: dict[int, str] = {
    1: "latin-1",
    3: "latin-1",
    4: "iso8859-2",
    5: "iso8859-3",
    6: "iso8859-4",
    7: "iso8859-5",
    8: "iso8859-6",
    9: "iso8859-7",
    10: "iso8859-8",
    11: "iso8859-9",
    12: "iso8859-10",
    13: "iso8859-11",
    15: "iso8859-13",
    16: "iso8859-14",
    17: "iso8859-15",
    18: "iso8859-16",
    20: "shift_jis",
    21: "cp1250",
    22: "cp1251",
    23: "cp1252",
    24: "cp1256",
    25: "utf-16-be",
    26: "utf-8",
    27: "ascii",
    28: "big5",
    29: "gb18030",
    30: "euc-kr",
    32: "gb18030",
}


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from payload bytes, or the reason it could not be."""

    text: str
    encoding: str
    error: str = ""


def decode_payload(raw: bytes, eci: int | None = None) -> DecodedText:
    """Decode a payload's bytes into text.

    Args:
        raw: the payload bytes exactly as stored in the code.
        eci: the ECI assignment number the code declares, or ``None``.

    Returns:
        The text and the encoding used; when no rule fits, ``text`` is empty and
        ``error`` gives the reason, so the caller never shows garbled text.
    """
    if eci is not None:
        return _decode_eci(raw, eci)
    try:
        return DecodedText(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    guess = guess_legacy_encoding(raw)
    if guess is None:
        return DecodedText(
            "", "", "payload bytes are not valid UTF-8, Shift_JIS or ISO-8859-1"
        )
    return DecodedText(raw.decode(guess), guess)


def _decode_eci(raw: bytes, eci: int) -> DecodedText:
    codec = ECI_CODECS.get(eci)
    if codec is None:
        return DecodedText("", "", f"payload declares unsupported ECI {eci}")
    try:
        return DecodedText(raw.decode(codec), codecs.lookup(codec).name)
    except UnicodeDecodeError:
        return DecodedText("", "", f"payload bytes are not valid for ECI {eci}")


def guess_legacy_encoding(raw: bytes) -> str | None:
    """Choose Shift_JIS or ISO-8859-1 for bytes that are not UTF-8, as ZXing does.

    When both fit, Shift_JIS wins if the bytes hold exactly one two-character katakana
    word, or if at least a tenth of them would be uncommon ISO-8859-1 symbols.

    Returns:
        ``"shift_jis"``, ``"latin-1"``, or ``None`` when neither fits.
    """
    can_be_latin1 = not any(0x80 <= byte <= 0x9F for byte in raw)
    sjis = _ShiftJisScan(raw)
    if can_be_latin1 and sjis.valid:
        latin1_other = sum(
            1 for byte in raw if 0xA0 <= byte <= 0xFF and byte not in _LATIN1_LETTERS
        )
        katakana_word = sjis.max_katakana_word == 2 and sjis.katakana_chars == 2
        if katakana_word or latin1_other * 10 >= len(raw):
            return "shift_jis"
        return "latin-1"
    if can_be_latin1:
        return "latin-1"
    if sjis.valid:
        return "shift_jis"
    return None


# ISO-8859-1 letters (accented Latin letters), which ZXing does not count as "other".
_LATIN1_LETTERS = frozenset(range(0xC0, 0x100)) - {0xD7, 0xF7}


class _ShiftJisScan:
    """Shift_JIS validity and katakana statistics, computed as ZXing does."""

    def __init__(self, raw: bytes) -> None:
        self.valid = True
        self.katakana_chars = 0
        self.max_katakana_word = 0
        word = 0
        index = 0
        while index < len(raw) and self.valid:
            byte = raw[index]
            if 0xA1 <= byte <= 0xDF:  # half-width katakana
                self.katakana_chars += 1
                word += 1
                self.max_katakana_word = max(self.max_katakana_word, word)
                index += 1
                continue
            word = 0
            if byte == 0x80 or byte == 0xA0 or byte > 0xEF:
                self.valid = False
            elif byte > 0x7F:  # lead byte of a double-byte character
                index += 1
                if index >= len(raw) or not _is_sjis_trail(raw[index]):
                    self.valid = False
            index += 1
        if self.valid:
            try:
                raw.decode("shift_jis")
            except UnicodeDecodeError:
                self.valid = False


def _is_sjis_trail(byte: int) -> bool:
    return 0x40 <= byte <= 0xFC and byte != 0x7F
