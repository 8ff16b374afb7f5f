"""Free text, and the checks that run before any reader: size, emptiness, binary."""

from __future__ import annotations

import pytest

from kiosk.contacts import MAX_PAYLOAD_BYTES, PayloadRejected, parse
from tests.unit.contacts.helpers import fields, rejection


def test_plain_text_email_and_phone() -> None:
    got = fields("Reach me at <jo@example.com> or +1 415 555 0132, thanks!")
    assert got == {
        "email": "jo@example.com",
        "phone": "+14155550132",
        "source_format": "plain-text",
    }


def test_plain_text_never_fills_a_name() -> None:
    got = fields("Jane Doe\nAcme Corp\njane@example.com")
    assert set(got) == {"email", "source_format"}


def test_plain_text_several_emails() -> None:
    got = fields("a@example.com b@example.org")
    assert got["email"] == "a@example.com"
    assert got["other_emails"] == ["b@example.org"]


def test_plain_text_invalid_email_not_taken() -> None:
    assert rejection("write to jo@ or @example") == "unrecognized_payload"


def test_marketing_text_rejected_with_message() -> None:
    with pytest.raises(PayloadRejected) as caught:
        parse("Welcome to Booth 42! Spin the wheel to win.")
    assert caught.value.code == "unrecognized_payload"
    assert caught.value.message == (
        "This code holds text but no contact details. Enter them by hand."
    )
    assert caught.value.to_json_dict()["error"] == "unrecognized_payload"


@pytest.mark.parametrize("payload", ["", b"", "   \r\n\t", "\ufeff", b"\xef\xbb\xbf"])
def test_empty_payloads(payload: str | bytes) -> None:
    assert rejection(payload) == "empty_payload"


def test_size_limit_exact_fits() -> None:
    payload = "MECARD:N:Doe,Jane;NOTE:" + "a" * (MAX_PAYLOAD_BYTES - 23)
    assert len(payload.encode()) == MAX_PAYLOAD_BYTES
    assert fields(payload)["last_name"] == "Doe"


def test_size_limit_one_byte_over() -> None:
    payload = "MECARD:N:Doe,Jane;NOTE:" + "a" * (MAX_PAYLOAD_BYTES - 22)
    assert rejection(payload) == "payload_too_large"
    assert rejection(payload.encode()) == "payload_too_large"


def test_size_counts_utf8_bytes() -> None:
    payload = "MECARD:N:Doe,Jane;NOTE:" + "é" * 4100
    assert len(payload) < MAX_PAYLOAD_BYTES
    assert rejection(payload) == "payload_too_large"


def test_size_checked_before_binary() -> None:
    assert rejection(b"\x00" * (MAX_PAYLOAD_BYTES + 1)) == "payload_too_large"


@pytest.mark.parametrize(
    "payload",
    [
        "\x00\x01\x02PK\x03\x04",
        "MECARD:N:Doe,Jane\x07;;",
        "text with a DEL \x7f",
        "C1 control \x85 here",
        "lone surrogate \ud800",
        b"\xff\xfe\x00P\x00N\x00G",
        b"\x89PNG\r\n\x1a\n",
        b"caf\xe9 au lait",
    ],
)
def test_binary_payloads(payload: str | bytes) -> None:
    assert rejection(payload) == "binary_payload"


def test_non_utf8_vcard_with_control_bytes_is_binary() -> None:
    assert rejection(b"BEGIN:VCARD\r\nN:\xe9\x00;x\r\n") == "binary_payload"


def test_tab_cr_lf_allowed() -> None:
    assert fields("jo@example.com\t\r\n")["email"] == "jo@example.com"


def test_rejection_messages_name_no_data() -> None:
    for payload in ("", "\x00secret", "x" * 9000, "secret words only"):
        with pytest.raises(PayloadRejected) as caught:
            parse(payload)
        assert "secret" not in caught.value.message
        assert caught.value.message.endswith(".")


@pytest.mark.parametrize(
    "payload",
    [
        "Tel: +1 415 555 0132\nEmail: jo@example.com\nJo Doe",
        "TEL: +1 415 555 0132 Email: jo@example.com",
    ],
)
def test_tel_label_in_text_is_plain_text(payload: str) -> None:
    assert fields(payload) == {
        "email": "jo@example.com",
        "phone": "+14155550132",
        "source_format": "plain-text",
    }


def test_tel_uri_with_spaces_still_tel() -> None:
    got = fields("Tel: +1 415 555 0132")
    assert got["phone"] == "+14155550132"
    assert got["source_format"] == "tel"


def test_tel_uri_phone_context_prefix() -> None:
    got = fields("tel:555-0126;phone-context=+1-718")
    assert got == {"phone": "+17185550126", "source_format": "tel"}


def test_mailto_label_in_text_is_plain_text() -> None:
    got = fields("Mailto: jo@example.com or call +1 415 555 0132")
    assert got["email"] == "jo@example.com"
    assert got["phone"] == "+14155550132"
    assert got["source_format"] == "plain-text"


def test_plain_text_comma_keeps_email() -> None:
    got = fields("+1 415 555 0132, or email me at jo@example.com")
    assert got == {
        "email": "jo@example.com",
        "phone": "+14155550132",
        "source_format": "plain-text",
    }


def test_plain_text_labelled_email() -> None:
    got = fields("Contact Jo Doe Email:jo@example.com")
    assert got == {"email": "jo@example.com", "source_format": "plain-text"}


def test_plain_text_keeps_extension() -> None:
    got = fields("Call +1 415 555 0132 x12 after 5pm")
    assert got["phone"] == "+14155550132"
    assert got["phone_ext"] == "12"


def test_bidi_override_removed_from_fields() -> None:
    got = fields("MECARD:N:\u202eeoD,Jo\u2066;EMAIL:jo@example.com\u200f;;")
    assert got["last_name"] == "eoD"
    assert got["first_name"] == "Jo"
    assert got["email"] == "jo@example.com"


def test_zero_width_joiner_kept_in_name() -> None:
    name = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert fields(f"MECARD:N:Doe,{name};;")["first_name"] == name


def test_only_format_characters_rejected() -> None:
    assert rejection("MECARD:N:\u202e,\u2066;;") == "unrecognized_payload"


def test_line_separator_in_name_is_space() -> None:
    got = fields("MECARD:N:Doe,Jo\u2028Ann;NOTE:a\u2029b;;")
    assert got["first_name"] == "Jo Ann"
    assert got["notes"] == "a\nb"
