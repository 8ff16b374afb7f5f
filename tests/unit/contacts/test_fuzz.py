"""Property tests: whatever the payload, the parser returns a contact or a coded error.

The strategies together generate 10,500 payloads: random text, vCard- and
MECARD-shaped noise, other prefixed formats, binary data and oversized input.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.contacts import MAX_PAYLOAD_BYTES, Contact, PayloadRejected, parse

KNOWN_CODES = {
    "empty_payload",
    "payload_too_large",
    "binary_payload",
    "unrecognized_payload",
}

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Characters that matter to the readers: separators, escapes, quotes, line ends,
# and escape sequences or bidi overrides that must not reach a field as characters.
_SYNTAX = st.sampled_from(list(';:,\\"=\r\n\t .@+-()<>{}[]&?%/\u202e'))
_SEQUENCES = st.sampled_from(["\\ud800", "\\u202e", "=E2=80=AE", "=ED=A0=80"])
_NOISE = st.lists(
    st.one_of(
        _SYNTAX, _SEQUENCES, st.characters(codec="utf-8"), st.sampled_from("ab01")
    ),
    max_size=60,
).map("".join)
# Bidi controls the parser removes from every field.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066")
_VCARD_NAMES = st.sampled_from(
    ["N", "FN", "TEL", "EMAIL", "ORG", "TITLE", "ADR", "URL", "NOTE", "NICKNAME",
     "PHOTO", "BEGIN", "END", "VERSION", "item1.EMAIL", "X-SOCIALPROFILE", "AGENT",
     "tel", "email", ""]
)  # fmt: skip
_VCARD_PARAMS = st.sampled_from(
    ["", ";TYPE=PREF", ";PREF=1", ";WORK;VOICE", ";ENCODING=QUOTED-PRINTABLE",
     ";CHARSET=SHIFT_JIS;QUOTED-PRINTABLE", ";CHARSET=unicode_escape",
     ";CHARSET=unicode-escape;QUOTED-PRINTABLE", ";CHARSET=UTF-8;QUOTED-PRINTABLE",
     ';TYPE="fax,work"',
     ";CHARSET=base64", ';X-LABEL="a:b;c"', ";TYPE=FAX", ";VALUE=uri", ';"', ";="]
)  # fmt: skip
_PREFIXES = st.sampled_from(
    ["MECARD:", "BIZCARD:", "MATMSG:", "mailto:", "tel:", "MEBKM:", "{", "http://",
     "https://", "", "0", "A-"]
)  # fmt: skip
_MECARD_KEYS = st.sampled_from(
    ["N", "TEL", "EMAIL", "ADR", "URL", "ORG", "NOTE", "X", "B", "M", "F", "E", "T",
     "C", "A", "TO", "SUB", "BODY", "BDAY", ""]
)  # fmt: skip


def _check(payload: str | bytes) -> None:
    try:
        contact = parse(payload)
    except PayloadRejected as rejection:
        assert rejection.code in KNOWN_CODES
        assert rejection.message
        return
    assert isinstance(contact, Contact)
    text = json.dumps(contact.to_json_dict(), ensure_ascii=False)
    # Strict UTF-8, as `kiosk parse` writes it: a lone surrogate raises here.
    text.encode("utf-8")
    assert not _BIDI_CONTROLS.intersection(text)


@st.composite
def vcard_noise(draw: st.DrawFn) -> str:
    lines = ["BEGIN:VCARD"]
    for _ in range(draw(st.integers(0, 12))):
        name = draw(_VCARD_NAMES)
        params = draw(_VCARD_PARAMS)
        lines.append(f"{name}{params}:{draw(_NOISE)}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from([" ", "\t", "", "="])) + draw(_NOISE))
    if draw(st.booleans()):
        lines.append("END:VCARD")
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return newline.join(lines)


@st.composite
def prefixed_noise(draw: st.DrawFn) -> str:
    fields = [
        f"{draw(_MECARD_KEYS)}:{draw(_NOISE)}" for _ in range(draw(st.integers(0, 10)))
    ]
    separator = draw(st.sampled_from([";", ",", "|", "&", "\t"]))
    return draw(_PREFIXES) + separator.join(fields) + draw(st.sampled_from(["", ";;"]))


@st.composite
def huge_payloads(draw: st.DrawFn) -> str | bytes:
    size = draw(st.integers(MAX_PAYLOAD_BYTES + 1, 3 * MAX_PAYLOAD_BYTES))
    chunk = draw(st.sampled_from(["A", "é", "BEGIN:VCARD\r\nN:a;b\r\n", "\x00", "1;"]))
    text = draw(_NOISE) + chunk * (size // len(chunk.encode()) + 1)
    return text.encode("utf-8") if draw(st.booleans()) else text


@settings(FUZZ, max_examples=3000)
@given(st.text(max_size=400))
def test_random_text(payload: str) -> None:
    _check(payload)


@settings(FUZZ, max_examples=3000)
@given(vcard_noise())
def test_vcard_shaped_noise(payload: str) -> None:
    _check(payload)
    _check(payload.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=2500)
@given(prefixed_noise())
def test_mecard_and_other_prefixed_noise(payload: str) -> None:
    _check(payload)


@settings(FUZZ, max_examples=1500)
@given(st.binary(max_size=600))
def test_binary_input(payload: bytes) -> None:
    _check(payload)
    _check(b"BEGIN:VCARD\r\nN;CHARSET=SHIFT_JIS:" + payload)


@settings(FUZZ, max_examples=500)
@given(huge_payloads())
def test_huge_input_rejected_by_size(payload: str | bytes) -> None:
    try:
        parse(payload)
    except PayloadRejected as rejection:
        assert rejection.code == "payload_too_large"
    else:
        raise AssertionError("an oversized payload was accepted")
