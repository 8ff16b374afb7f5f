"""Badges (JSON, delimited, bare ids, registration URLs), web URLs and MEBKM."""

from __future__ import annotations

import pytest

from tests.unit.contacts.helpers import config, fields, rejection

LAYOUT = """
[[badges.layouts]]
delimiter = ";"
columns = ["badge_id", "first_name", "last_name", "email", "company", "ignore"]

[[badges.layouts]]
delimiter = "|"
columns = ["badge_id", "name", "title", "phone", "department"]
"""

HOST = """
[[badges.hosts]]
host = "reg.example.com"
id_param = "aid"
event_param = "e"
"""


def test_json_badge_known_keys_mapped() -> None:
    payload = (
        '{"badge_id": "B-1", "first_name": "Jane", "Last-Name": "Doe", '
        '"EMAIL": "Jane@Example.COM", "organisation": "Acme", "position": "CTO", '
        '"mobile": "+1 212 555 0123", "dietary": "vegan", "extra": {"a": 1}}'
    )
    got = fields(payload)
    assert got == {
        "badge_id": "B-1",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "Jane@example.com",
        "company": "Acme",
        "title": "CTO",
        "phone": "+12125550123",
        "source_format": "badge-json",
    }


def test_json_badge_full_name_split() -> None:
    got = fields('{"name": "Doe, Jane", "id": 17}')
    assert got["first_name"] == "Jane"
    assert got["last_name"] == "Doe"
    assert got["badge_id"] == "17"
    assert "needs_lookup" not in got


def test_json_badge_id_only_needs_lookup() -> None:
    got = fields('{"attendeeId": "A-1"}')
    assert got["needs_lookup"] is True


def test_json_badge_without_known_keys_rejected() -> None:
    assert rejection('{"dietary": "vegan", "flag": true}') == "unrecognized_payload"


def test_json_deep_nesting_rejected() -> None:
    assert rejection("{" * 4000) == "unrecognized_payload"


def test_json_list_is_not_a_badge() -> None:
    assert rejection('["a", "b"]') == "unrecognized_payload"


def test_delimited_badge_with_layout() -> None:
    got = fields("77;Jane;DOE;jane@example.com;Acme;VIP", config(LAYOUT))
    assert got == {
        "badge_id": "77",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@example.com",
        "company": "Acme",
        "source_format": "badge-delimited",
    }


def test_delimited_badge_second_layout_with_name() -> None:
    got = fields("A-9|Jane Q. Doe|CTO|+1 212 555 0123|R&D", config(LAYOUT))
    assert got["first_name"] == "Jane"
    assert got["middle_name"] == "Q."
    assert got["last_name"] == "Doe"
    assert got["phone"] == "+12125550123"
    assert got["department"] == ["R&D"]


def test_delimited_badge_quoted_last_first() -> None:
    layout = config(
        '[[badges.layouts]]\ndelimiter = ","\n'
        'columns = ["badge_id", "name", "company", "title", "email"]\n'
    )
    got = fields('X-1,"Doe, Jane",Acme,"VP, Sales",jane@example.com', layout)
    assert got["first_name"] == "Jane"
    assert got["last_name"] == "Doe"
    assert got["title"] == "VP, Sales"


def test_delimited_badge_wrong_column_count_without_names() -> None:
    got = fields("77;Jane;Doe;jane@example.com", config(LAYOUT))
    assert got == {"email": "jane@example.com", "source_format": "badge-delimited"}


def test_delimited_without_layout_never_guesses_names() -> None:
    got = fields("Jane;Doe;jane@example.com;+1 (212) 555-0123;00441792")
    assert got == {
        "email": "jane@example.com",
        "phone": "+12125550123",
        "source_format": "badge-delimited",
    }


def test_delimited_without_email_or_phone_rejected() -> None:
    assert rejection("Jane;Doe;Acme") == "unrecognized_payload"


@pytest.mark.parametrize("payload", ["004417920031", "A-5521", "REG_2025/0042"])
def test_bare_id_is_badge_not_phone(payload: str) -> None:
    got = fields(payload)
    assert got == {
        "badge_id": payload,
        "needs_lookup": True,
        "source_format": "badge-id",
    }


def test_word_without_digit_is_not_an_id() -> None:
    assert rejection("Welcome") == "unrecognized_payload"


def test_registration_url_carries_id_and_event() -> None:
    url = "https://REG.example.com/b?aid=A-1&e=expo25"
    got = fields(url, config(HOST))
    assert got == {
        "badge_id": "A-1",
        "event_code": "expo25",
        "profile_url": url,
        "needs_lookup": True,
        "source_format": "badge-url",
    }


def test_registration_url_without_id_is_plain_url() -> None:
    url = "https://reg.example.com/help"
    got = fields(url, config(HOST))
    assert got["profile_url"] == url
    assert got["source_format"] == "business-card-url"
    assert "badge_id" not in got


def test_registration_host_not_configured() -> None:
    url = "https://reg.example.com/b?aid=A-1"
    got = fields(url)
    assert got["profile_url"] == url
    assert "badge_id" not in got


def test_business_card_url_needs_lookup_only() -> None:
    url = "http://card.example.com/p/jane?utm_source=qr"
    assert fields(url) == {
        "profile_url": url,
        "needs_lookup": True,
        "source_format": "business-card-url",
    }


def test_url_followed_by_words_is_text() -> None:
    assert rejection("https://example.com is our site") == "unrecognized_payload"


def test_malformed_url_rejected() -> None:
    assert rejection("http://[::1") == "unrecognized_payload"


def test_non_web_scheme_is_not_a_card() -> None:
    assert rejection("ftp://files.example.com/x") == "unrecognized_payload"


def test_mebkm_bookmark() -> None:
    got = fields("MEBKM:TITLE:Jane's card;URL:https\\://card.example.com/jane;;")
    assert got == {
        "profile_url": "https://card.example.com/jane",
        "needs_lookup": True,
        "source_format": "mebkm",
    }


def test_mebkm_without_scheme_gets_http() -> None:
    got = fields("MEBKM:URL:card.example.com/jane;;")
    assert got["profile_url"] == "http://card.example.com/jane"


def test_mebkm_without_url_rejected() -> None:
    assert rejection("MEBKM:TITLE:Nothing here;;") == "unrecognized_payload"


def test_delimited_picks_delimiter_with_fields() -> None:
    got = fields("Nakamura, Kenji;kenji@example.com;+1 212 555 0123")
    assert got == {
        "email": "kenji@example.com",
        "phone": "+12125550123",
        "source_format": "badge-delimited",
    }


def test_delimited_date_is_not_phone() -> None:
    got = fields("A123,2024-05-01,jo@example.com")
    assert got == {"email": "jo@example.com", "source_format": "badge-delimited"}


@pytest.mark.parametrize("payload", ["1234-5678-9012;Jo Doe", "01/05/2024;Jo Doe"])
def test_delimited_id_or_date_alone_rejected(payload: str) -> None:
    assert rejection(payload) == "unrecognized_payload"


def test_delimited_phone_keeps_extension() -> None:
    got = fields("Jo;+1 415 555 0132 x12")
    assert got == {
        "phone": "+14155550132",
        "phone_ext": "12",
        "source_format": "badge-delimited",
    }


def test_delimited_several_lines_is_text() -> None:
    got = fields("Jo Doe;Acme\njo@example.com")
    assert got == {"email": "jo@example.com", "source_format": "plain-text"}


def test_layout_badge_quoted_newline() -> None:
    got = fields('A-1;"Jo\nX";Doe;jo@example.com;Acme;x', config(LAYOUT))
    assert got == {
        "badge_id": "A-1",
        "first_name": "Jo X",
        "last_name": "Doe",
        "email": "jo@example.com",
        "company": "Acme",
        "source_format": "badge-delimited",
    }


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example.com/x", "data:text/html,x"]
)
def test_mebkm_non_web_scheme_rejected(url: str) -> None:
    assert rejection(f"MEBKM:TITLE:x;URL:{url};;") == "unrecognized_payload"


def test_mebkm_host_with_port_gets_http() -> None:
    got = fields("MEBKM:URL:card.example.com:8080/jane;;")
    assert got["profile_url"] == "http://card.example.com:8080/jane"
