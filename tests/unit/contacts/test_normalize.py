"""Phones, emails, names and the CRM length limits."""

from __future__ import annotations

import pytest

from kiosk.config import CaptureSettings, Config
from kiosk.contacts.normalize import (
    fix_name_case,
    normalize_email,
    normalize_phone,
    region_or_default,
)
from tests.unit.contacts.helpers import fields, vcard


@pytest.mark.parametrize(
    ("text", "number", "extension"),
    [
        ("+1 (415) 555-0132", "+14155550132", ""),
        ("415.555.0132", "+14155550132", ""),
        ("+1 201 555 0123 ext. 12", "+12015550123", "12"),
        ("+1 201 555 0123 x12", "+12015550123", "12"),
        ("+1 201 555 0123 extension 9", "+12015550123", "9"),
        ("+1 201 555 0123 ext.", "+12015550123", ""),
        ("+1 201 555 0123 EXT", "+12015550123", ""),
        ("+44 20 7946 0958", "+442079460958", ""),
    ],
)
def test_phone_to_e164(text: str, number: str, extension: str) -> None:
    phone = normalize_phone(text, "US")
    assert phone is not None
    assert phone.number == number
    assert phone.extension == extension
    assert phone.valid


def test_phone_default_region_applies() -> None:
    phone = normalize_phone("030 1234567", "DE")
    assert phone is not None
    assert phone.number == "+49301234567"


def test_phone_00_prefix_depends_on_region() -> None:
    phone = normalize_phone("0044 20 7946 0958", "DE")
    assert phone is not None
    assert phone.number == "+442079460958"


def test_phone_without_digits_is_dropped() -> None:
    assert normalize_phone("call me", "US") is None


def test_phone_unparsable_kept_with_warning() -> None:
    got = fields("MECARD:N:Doe,Jane;TEL:12;;")
    assert got["phone"] == "12"
    assert got["warnings"] == ["invalid_phone"]


def test_region_from_config() -> None:
    config = Config(capture=CaptureSettings(default_region="DE"))
    got = fields("MECARD:N:Doe,Jane;TEL:030 1234567;;", config)
    assert got["phone"] == "+49301234567"


@pytest.mark.parametrize(("region", "expected"), [("", "US"), (" gb ", "GB")])
def test_region_or_default(region: str, expected: str) -> None:
    assert region_or_default(region) == expected


def test_other_phone_keeps_extension() -> None:
    got = fields("MECARD:N:Doe,Jane;TEL:+12125550170;TEL:+12125550171 x9;;")
    assert got["other_phones"] == ["+12125550171;ext=9"]


def test_email_domain_lowered_local_kept() -> None:
    assert normalize_email("Jane.Doe@EXAMPLE.Com") == "Jane.Doe@example.com"


def test_email_idna_domain() -> None:
    assert normalize_email("info@BÜCHER.example.com") == "info@bücher.example.com"


@pytest.mark.parametrize("text", ["jane", "jane@", "a@b@example.com", "x@localhost"])
def test_email_invalid(text: str) -> None:
    assert normalize_email(text) is None


def test_invalid_email_left_empty_with_warning() -> None:
    got = fields(vcard("VERSION:3.0", "N:Doe;Jane", "EMAIL:jane(at)example.com"))
    assert "email" not in got
    assert got["warnings"] == ["invalid_email"]


def test_invalid_primary_email_next_valid_used() -> None:
    got = fields("MECARD:N:Doe,Jane;EMAIL:nope;EMAIL:jane@example.com;;")
    assert got["email"] == "jane@example.com"
    assert got["warnings"] == ["invalid_email"]


def test_duplicate_emails_merged() -> None:
    got = fields("MECARD:N:Doe,Jane;EMAIL:Jane@example.com;EMAIL:jane@EXAMPLE.com;;")
    assert got["email"] == "Jane@example.com"
    assert "other_emails" not in got


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MCDONALD", "McDonald"),
        ("o'brien", "O'Brien"),
        ("VAN DER BERG", "van der Berg"),
        ("okafor-reyes", "Okafor-Reyes"),
        ("LUCÍA", "Lucía"),
        ("McDonald", "McDonald"),
        ("deVries", "deVries"),
        ("van", "Van"),
        ("JJ", "JJ"),
        ("jj", "JJ"),
        ("J.R.", "J.R."),
        ("st.john", "St.John"),
        ("LY", "Ly"),
    ],
)
def test_fix_name_case(name: str, expected: str) -> None:
    assert fix_name_case(name) == expected


def test_mixed_case_names_kept() -> None:
    got = fields(vcard("VERSION:3.0", "N:da Silva;Ana", "FN:Ana da Silva"))
    assert got["last_name"] == "da Silva"


def test_upper_case_name_recased_in_contact() -> None:
    got = fields("MECARD:N:O'BRIEN,SEAN;;")
    assert got["last_name"] == "O'Brien"
    assert got["first_name"] == "Sean"


def test_crm_limits_warn_without_cutting() -> None:
    long_name = "A" + "b" * 120
    payload = vcard(
        "VERSION:3.0",
        f"N:{long_name};Jane",
        "ORG:" + "C" * 201,
        "TITLE:" + "T" * 151,
    )
    contact_fields = fields(payload)
    assert contact_fields["last_name"] == long_name
    assert len(contact_fields["company"]) == 201
    assert contact_fields["warnings"] == ["too_long", "too_long", "too_long"]


def test_crm_limit_warning_names_field() -> None:
    from kiosk.contacts import parse

    contact = parse(vcard("VERSION:3.0", "N:Doe;Jane", "TITLE:" + "T" * 151))
    assert [(w.code, w.field) for w in contact.warnings] == [("too_long", "title")]


def test_dedup_key_is_casefolded_email() -> None:
    from kiosk.contacts import parse

    contact = parse("MECARD:N:Doe,Jane;EMAIL:Jane.Doe@Example.com;;")
    assert contact.dedup_key == "jane.doe@example.com"


def test_upper_case_initials_kept() -> None:
    got = fields(vcard("VERSION:3.0", "N:MCDONALD;RONALD;J.R.;;III"))
    assert got["last_name"] == "McDonald"
    assert got["first_name"] == "Ronald"
    assert got["middle_name"] == "J.R."
    assert fields(vcard("VERSION:3.0", "N:ABRAMS;JJ"))["first_name"] == "JJ"
