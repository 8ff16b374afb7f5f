"""Declarative field mapping."""

from __future__ import annotations

import pytest

from sync_daemon.mapping import MappingError, load_mapping, parse_mapping


def test_acme_mapping_loads() -> None:
    mapping = load_mapping("acme")
    assert mapping.crm_name == "AcmeCRM"
    assert mapping.fields["email"] == "acme_email"
    assert mapping.fields["answers"] == "acme_qualifiers"
    assert mapping.constants["acme_source"] == "Booth kiosk"


def test_apply_maps_fields_and_constants() -> None:
    mapping = load_mapping("acme")
    contact = mapping.apply(
        {
            "first_name": "José",
            "email": "  jose@example.com ",
            "rating": "Hot",
            "answers": {"budget": "yes"},
            "website": "https://example.com",
        }
    )
    assert contact == {
        "acme_first_name": "José",
        "acme_email": "jose@example.com",
        "acme_lead_rating": "hot",
        "acme_qualifiers": {"budget": "yes"},
        "acme_source": "Booth kiosk",
    }


def test_apply_drops_empty_values() -> None:
    mapping = load_mapping("acme")
    contact = mapping.apply(
        {"email": "a@example.com", "rating": "", "answers": {}, "notes": None}
    )
    assert contact == {"acme_email": "a@example.com", "acme_source": "Booth kiosk"}


def test_apply_is_deterministic() -> None:
    mapping = load_mapping("acme")
    snapshot = {
        "email": "a@example.com",
        "company": "Acme",
        "answers": {"b": 1, "a": 2},
    }
    assert mapping.apply(snapshot) == mapping.apply(dict(snapshot))


def test_transform_on_wrong_type_names_field() -> None:
    mapping = load_mapping("acme")
    with pytest.raises(MappingError, match="field rating"):
        mapping.apply({"email": "a@example.com", "rating": 5})


def test_unknown_lead_field_fails_at_load() -> None:
    text = '[fields]\nemail = "acme_email"\nshoe_size = "acme_notes"\n'
    with pytest.raises(MappingError, match=r"unknown lead field.*shoe_size"):
        parse_mapping(text, name="bad")


def test_unknown_crm_field_fails_at_load() -> None:
    text = '[fields]\nemail = "acme_mail"\n'
    with pytest.raises(MappingError, match=r"unknown CRM field.*acme_mail"):
        parse_mapping(text, name="bad", crm_fields=frozenset({"acme_email"}))


def test_unknown_constant_field_fails_at_load() -> None:
    text = '[fields]\nemail = "acme_email"\n[constants]\nacme_origin = "x"\n'
    with pytest.raises(MappingError, match="acme_origin"):
        parse_mapping(text, name="bad", crm_fields=frozenset({"acme_email"}))


def test_unknown_transform_fails_at_load() -> None:
    text = '[fields]\nemail = "acme_email"\n[transforms]\nemail = "rot13"\n'
    with pytest.raises(MappingError, match=r"unknown transform.*rot13"):
        parse_mapping(text, name="bad")


def test_transform_of_unmapped_field_fails() -> None:
    text = '[fields]\nemail = "acme_email"\n[transforms]\nphone = "strip"\n'
    with pytest.raises(MappingError, match=r"unmapped field.*phone"):
        parse_mapping(text, name="bad")


def test_unknown_table_fails() -> None:
    with pytest.raises(MappingError, match=r"unknown key.*field"):
        parse_mapping('[field]\nemail = "acme_email"\n', name="bad")


def test_invalid_toml_fails() -> None:
    with pytest.raises(MappingError, match="not valid TOML"):
        parse_mapping("[fields\n", name="bad")


def test_missing_mapping_fails() -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping("no_such_crm")


def test_our_field_reverse_lookup() -> None:
    mapping = load_mapping("acme")
    assert mapping.our_field("acme_email") == "email"
    assert mapping.our_field("acme_source") is None
