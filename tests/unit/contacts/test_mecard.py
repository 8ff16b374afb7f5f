"""MECARD, BIZCARD, MATMSG, mailto: and tel: payloads."""

from __future__ import annotations

from tests.unit.contacts.helpers import fields, rejection


def test_mecard_last_comma_first() -> None:
    got = fields("MECARD:N:Doe,Jane;EMAIL:jane@example.com;;")
    assert got["last_name"] == "Doe"
    assert got["first_name"] == "Jane"
    assert got["source_format"] == "mecard"


def test_mecard_full_name_without_comma() -> None:
    got = fields("MECARD:N:Priya Raman;TEL:+14155550143;;")
    assert got["first_name"] == "Priya"
    assert got["last_name"] == "Raman"


def test_mecard_backslash_escapes() -> None:
    got = fields("MECARD:N:Doe,Jane;NOTE:a\\;b\\:c\\,d\\\\e;ORG:R\\&D\\; Co;;")
    assert got["notes"] == "a;b:c,d\\e"
    assert got["company"] == "R\\&D; Co"


def test_mecard_escaped_comma_in_name() -> None:
    got = fields("MECARD:N:Doe\\, Jr.,Jane;;")
    assert got["first_name"] == "Jane"
    assert got["last_name"] == "Doe, Jr."


def test_mecard_repeated_tel_keeps_order() -> None:
    got = fields("MECARD:N:Doe,Jane;TEL:2125550170;TEL:+1 212 555 0171;TEL:2125550172")
    assert got["phone"] == "+12125550170"
    assert got["other_phones"] == ["+12125550171", "+12125550172"]


def test_mecard_missing_terminator_keeps_last_field() -> None:
    got = fields("MECARD:N:Doe,Jane;EMAIL:jane@example.com\n")
    assert got["email"] == "jane@example.com"


def test_mecard_lower_case_prefix_and_keys() -> None:
    got = fields("mecard:n:Doe,Jane;email:jane@example.com;;")
    assert got["email"] == "jane@example.com"


def test_mecard_address_seven_parts() -> None:
    got = fields("MECARD:N:Doe,Jane;ADR:,,1 Main St,Springfield,IL,62701,USA;;")
    assert got["address"] == {
        "street": "1 Main St",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "USA",
    }


def test_mecard_address_free_text() -> None:
    got = fields("MECARD:N:Doe,Jane;ADR:1 Main St\\, Springfield;;")
    assert got["address"] == {"street": "1 Main St, Springfield"}


def test_mecard_bday_and_sound_ignored() -> None:
    got = fields("MECARD:N:Doe,Jane;SOUND:doe,jane;BDAY:19900101;;")
    assert set(got) == {"first_name", "last_name", "source_format"}


def test_mecard_empty_rejected() -> None:
    assert rejection("MECARD:;;") == "unrecognized_payload"


def test_bizcard_first_then_last() -> None:
    payload = "BIZCARD:N:Tomasz;X:Nowak;T:CTO;C:Vistula;B:+12125550172;F:+12125550174;;"
    got = fields(payload)
    assert got["first_name"] == "Tomasz"
    assert got["last_name"] == "Nowak"
    assert got["title"] == "CTO"
    assert got["company"] == "Vistula"
    assert got["phone"] == "+12125550172"
    assert got["fax"] == "+12125550174"


def test_bizcard_mobile_only() -> None:
    got = fields("BIZCARD:N:Jane;M:+12125550173;;")
    assert got["phone"] == "+12125550173"
    assert "other_phones" not in got


def test_matmsg_body_is_not_parsed_for_phones() -> None:
    got = fields("MATMSG:TO:jo@example.com;SUB:Hi;BODY:Call +1 617 555 0181;;")
    assert got["email"] == "jo@example.com"
    assert got["notes"] == "Hi\nCall +1 617 555 0181"
    assert "phone" not in got


def test_mailto_percent_decoding_and_plus() -> None:
    got = fields("mailto:jo%2Bbooth@Example.COM?subject=Hello%20there&body=a+b")
    assert got["email"] == "jo+booth@example.com"
    assert got["notes"] == "Hello there\na+b"


def test_mailto_plus_addressing_literal() -> None:
    assert fields("MAILTO:jo+expo@example.com")["email"] == "jo+expo@example.com"


def test_mailto_several_recipients_cc_ignored() -> None:
    got = fields("mailto:a@example.com,b@example.com?to=c@example.com&cc=d@example.com")
    assert got["email"] == "a@example.com"
    assert got["other_emails"] == ["b@example.com", "c@example.com"]


def test_mailto_invalid_address_rejected() -> None:
    assert rejection("mailto:not-an-address") == "unrecognized_payload"


def test_tel_uri_with_extension() -> None:
    got = fields("tel:+1-718-555-0126;ext=12")
    assert got == {
        "phone": "+17185550126",
        "phone_ext": "12",
        "source_format": "tel",
    }


def test_tel_uri_national_number_uses_region() -> None:
    assert fields("TEL:(212) 555-0123")["phone"] == "+12125550123"


def test_tel_uri_without_digits_rejected() -> None:
    assert rejection("tel:call-me") == "unrecognized_payload"
