"""vCard reading: versions, encodings, folding, escapes, parameters and leniency."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import kiosk.contacts
from kiosk.contacts import MAX_PAYLOAD_BYTES, parse
from tests.unit.contacts.helpers import fields, rejection, vcard


def test_vcard21_quoted_printable_utf8() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen",
    )
    got = fields(payload)
    assert got["last_name"] == "Müller"
    assert got["first_name"] == "Jürgen"
    assert got["source_format"] == "vcard-2.1"


def test_vcard21_soft_line_breaks() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N:Doe;Jane",
        "NOTE;ENCODING=QUOTED-PRINTABLE:Met at the =",
        "booth, asked for a =",
        "demo",
    )
    assert fields(payload)["notes"] == "Met at the booth, asked for a demo"


def test_vcard21_charset_per_property() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N;CHARSET=windows-1252;QUOTED-PRINTABLE:Caf=E9;Ren=E9",
        "ORG;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:=93=FA=96=7B",
    )
    got = fields(payload)
    assert got["last_name"] == "Café"
    assert got["first_name"] == "René"
    assert got["company"] == "日本"


def test_vcard21_raw_shift_jis_bytes() -> None:
    payload = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:"
        + "山田;太郎".encode("shift_jis")
        + b"\r\nEMAIL:taro@example.com\r\nEND:VCARD\r\n"
    )
    got = fields(payload)
    assert got["last_name"] == "山田"
    assert got["first_name"] == "太郎"
    assert got["email"] == "taro@example.com"


def test_vcard21_unknown_charset_falls_back() -> None:
    payload = vcard("VERSION:2.1", "N;CHARSET=NO-SUCH-CHARSET:Doe;Jane")
    assert fields(payload)["first_name"] == "Jane"


def test_vcard21_bare_parameters_and_pref() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N:Doe;Jane",
        "TEL;CELL:+1 312 555 0188",
        "TEL;WORK;VOICE;PREF:+1 312 555 0110",
        "TEL;WORK;FAX:+1 312 555 0199",
    )
    got = fields(payload)
    assert got["phone"] == "+13125550110"
    assert got["other_phones"] == ["+13125550188"]
    assert got["fax"] == "+13125550199"


def test_vcard40_pref_number_orders_values() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jane Doe",
        "EMAIL;PREF=2:second@example.com",
        "EMAIL:third@example.com",
        "EMAIL;PREF=1:first@example.com",
    )
    got = fields(payload)
    assert got["email"] == "first@example.com"
    assert got["other_emails"] == ["second@example.com", "third@example.com"]


def test_vcard_folded_lines_joined() -> None:
    payload = vcard("VERSION:3.0", "N:Doe;Jane", "NOTE:A long note that", "  continues")
    assert fields(payload)["notes"] == "A long note that continues"


def test_vcard_escapes_in_text_values() -> None:
    payload = vcard(
        "VERSION:3.0",
        "N:Doe;Jane",
        "TITLE:Head of R\\&D\\, EMEA",
        "NOTE:one\\ntwo\\Nthree \\\\ back\\; semi",
        "URL:https\\://example.com/jane",
    )
    got = fields(payload)
    assert got["title"] == "Head of R\\&D, EMEA"
    assert got["notes"] == "one\ntwo\nthree \\ back; semi"
    assert got["website"] == "https://example.com/jane"


def test_vcard_escaped_semicolon_in_name() -> None:
    got = fields(vcard("VERSION:3.0", "N:Doe\\;Smith;Jane"))
    assert got["last_name"] == "Doe;Smith"
    assert got["first_name"] == "Jane"


def test_vcard_groups_are_dropped() -> None:
    payload = vcard(
        "VERSION:3.0",
        "N:Doe;Jane",
        "item1.EMAIL;type=INTERNET:jane@example.com",
        "item1.X-ABLabel:_$!<Work>!$_",
        "item2.TEL:+1 212 555 0123",
    )
    got = fields(payload)
    assert got["email"] == "jane@example.com"
    assert got["phone"] == "+12125550123"


def test_vcard_quoted_parameter_with_colon() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jane Doe",
        'EMAIL;X-LABEL="Booth: Hall B; Stand 7":jane@example.com',
    )
    assert fields(payload)["email"] == "jane@example.com"


def test_vcard_tel_uri_with_extension() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jane Doe",
        "TEL;VALUE=uri;TYPE=work:tel:+1-201-555-0123;ext=77",
        "TEL;VALUE=uri;TYPE=fax:tel:+1-201-555-0199",
    )
    got = fields(payload)
    assert got["phone"] == "+12015550123"
    assert got["phone_ext"] == "77"
    assert got["fax"] == "+12015550199"


def test_vcard_photo_skipped_not_following_lines() -> None:
    payload = vcard(
        "VERSION:3.0",
        "N:Doe;Jane",
        "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD",
        " Hh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL",
        "ORG:Acme",
        "LOGO:data:image/png;base64,iVBORw0KGgo=",
        "TITLE:Engineer",
    )
    got = fields(payload)
    assert got["company"] == "Acme"
    assert got["title"] == "Engineer"
    assert "notes" not in got


def test_vcard21_base64_photo_block() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N:Doe;Jane",
        "PHOTO;JPEG;ENCODING=BASE64:",
        "  /9j/4AAQSkZJRgABAQAAAQABAAD",
        "  Hh0aHBwgJC4nICIsIxwcKDcpLDAx",
        "",
        "EMAIL:jane@example.com",
    )
    assert fields(payload)["email"] == "jane@example.com"


def test_vcard_bom_lowercase_lf_no_end() -> None:
    payload = "\ufeffbegin:vcard\nversion:3.0\nn:Doe;Jane\nemail:jane@example.com\n"
    got = fields(payload)
    assert got["first_name"] == "Jane"
    assert got["email"] == "jane@example.com"


def test_vcard_bare_cr_line_ends() -> None:
    got = fields(vcard("VERSION:3.0", "N:Doe;Jane", newline="\r"))
    assert got["last_name"] == "Doe"


def test_vcard_fn_only_split_with_nameparser() -> None:
    got = fields(vcard("VERSION:3.0", "FN:Dr. Priya K. Raman PhD"))
    assert got["prefix"] == "Dr."
    assert got["first_name"] == "Priya"
    assert got["middle_name"] == "K."
    assert got["last_name"] == "Raman"
    assert got["suffix"] == "PhD"


def test_vcard_n_wins_over_fn() -> None:
    got = fields(vcard("VERSION:3.0", "N:Sousa Lima;Beatriz", "FN:Beatriz Sousa Lima"))
    assert got["last_name"] == "Sousa Lima"
    assert got["first_name"] == "Beatriz"


def test_vcard_nickname_org_units_adr() -> None:
    payload = vcard(
        "VERSION:3.0",
        "N:Doe;Jane",
        "NICKNAME:JD,Janie",
        "ORG:Acme;Research;Lab 2",
        "ADR;TYPE=WORK:PO Box 7;Suite 4;1 Main St;Springfield;IL;62701;USA",
    )
    got = fields(payload)
    assert got["nickname"] == "JD"
    assert got["company"] == "Acme"
    assert got["department"] == ["Research", "Lab 2"]
    assert got["address"] == {
        "street": "1 Main St, Suite 4, PO Box 7",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "USA",
    }


def test_vcard_linkedin_url_kept_apart() -> None:
    payload = vcard(
        "VERSION:3.0",
        "N:Doe;Jane",
        "URL:https://www.linkedin.com/in/janedoe",
        "URL:https://jane.example.com",
    )
    got = fields(payload)
    assert got["linkedin_url"] == "https://www.linkedin.com/in/janedoe"
    assert got["website"] == "https://jane.example.com"


def test_vcard_nested_agent_ignored() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N:Doe;Jane",
        "AGENT:BEGIN:VCARD",
        "BEGIN:VCARD",
        "N:Assistant;Alex",
        "EMAIL:alex@example.com",
        "END:VCARD",
        "EMAIL:jane@example.com",
    )
    got = fields(payload)
    assert got["first_name"] == "Jane"
    assert got["email"] == "jane@example.com"


def test_vcard_stops_at_first_end() -> None:
    payload = vcard("VERSION:3.0", "N:Doe;Jane") + vcard("N:Roe;Rich")
    assert fields(payload)["last_name"] == "Doe"


def test_vcard_without_content_rejected() -> None:
    assert rejection(vcard("VERSION:3.0")) == "unrecognized_payload"


def test_vcard_control_characters_removed_from_values() -> None:
    payload = vcard("VERSION:2.1", "N;ENCODING=QUOTED-PRINTABLE:Do=00e;Ja=07ne")
    got = fields(payload)
    assert got["last_name"] == "Doe"
    assert got["first_name"] == "Jane"


def test_vcard_property_cap_bounds_work() -> None:
    lines = ["X:1"] * 600
    payload = vcard("VERSION:3.0", *lines, "EMAIL:late@example.com")
    # Properties past the cap are not read; the card has nothing usable before it.
    assert rejection(payload) == "unrecognized_payload"


def test_vcard_markup_kept_literally() -> None:
    payload = vcard("VERSION:3.0", "N:<b>Doe</b>;<Img src=x>", 'ORG:=HYPERLINK("x")')
    contact = parse(payload)
    assert contact.last_name == "<b>Doe</b>"
    assert contact.first_name == "<Img src=x>"
    assert contact.company == '=HYPERLINK("x")'


@pytest.mark.parametrize(
    "charset",
    ["unicode-escape", "unicode_escape", "UNICODE-ESCAPE", "raw-unicode-escape"],
)
def test_vcard_escape_codec_not_applied(charset: str) -> None:
    payload = vcard(
        "VERSION:2.1",
        f"N;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:\\ud800\\u202e;Jo",
        "EMAIL:jo@example.com",
    )
    got = fields(payload)
    assert got["last_name"] == "\\ud800\\u202e"
    assert got["first_name"] == "Jo"
    json.dumps(got, ensure_ascii=False).encode("utf-8")


def test_vcard_decoded_bidi_override_removed() -> None:
    payload = vcard(
        "VERSION:2.1",
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E2=80=AEeoD;Jo",
    )
    assert fields(payload)["last_name"] == "eoD"


def test_vcard_quoted_type_list_fax() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jo Doe",
        "TEL;TYPE=cell:+1 415 555 0199",
        'TEL;TYPE="fax,work":+1 415 555 0100',
    )
    got = fields(payload)
    assert got["fax"] == "+14155550100"
    assert got["phone"] == "+14155550199"
    assert "other_phones" not in got


def test_vcard_quoted_type_list_pref() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jo Doe",
        "EMAIL:a@example.com",
        'EMAIL;TYPE="work,pref":b@example.com',
    )
    got = fields(payload)
    assert got["email"] == "b@example.com"
    assert got["other_emails"] == ["a@example.com"]


def test_vcard_tel_uri_phone_context() -> None:
    payload = vcard(
        "VERSION:4.0",
        "FN:Jo Doe",
        "TEL;VALUE=uri:tel:555-0126;phone-context=+1-718",
    )
    got = fields(payload)
    assert got["phone"] == "+17185550126"
    assert "warnings" not in got


@pytest.mark.parametrize(
    "full_name", ["Jane Doe (Acme Corp)", "Jane Doe (she/her)", "Jane (1) Doe"]
)
def test_vcard_fn_parentheses_not_nickname(full_name: str) -> None:
    got = fields(vcard("VERSION:3.0", f"FN:{full_name}"))
    assert got["first_name"] == "Jane"
    assert got["last_name"] == "Doe"
    assert "nickname" not in got
    assert "middle_name" not in got


def test_vcard_fn_quoted_nickname_kept() -> None:
    got = fields(vcard("VERSION:3.0", 'FN:Robert "Bob" Smith'))
    assert got["nickname"] == "Bob"
    assert got["first_name"] == "Robert"


def test_vcard_fn_only_parentheses_rejected() -> None:
    assert rejection(vcard("VERSION:3.0", "FN:(1)")) == "unrecognized_payload"


def _quoted_printable_flood(head_length: int) -> str:
    """A NOTE with a long parameter list and one soft break per remaining line."""
    head = "NOTE;ENCODING=QUOTED-PRINTABLE;X-A=" + "a" * head_length + ":="
    return "BEGIN:VCARD\nEMAIL:jo@example.com\n" + head + "\n=" * (head_length // 2)


def _lines_run_in_contacts(payload: str) -> int:
    """Count the Python lines of kiosk.contacts that run while parsing a payload.

    A deterministic measure of work, unlike a timing on a shared machine.
    """
    package = str(Path(kiosk.contacts.__file__).parent)
    count = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if not frame.f_code.co_filename.startswith(package):
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        parse(payload)
    finally:
        sys.settrace(previous)
    return count


def test_vcard_soft_breaks_cost_linear_work() -> None:
    small = _quoted_printable_flood(1000)
    large = _quoted_printable_flood(4000)
    assert len(large.encode()) <= MAX_PAYLOAD_BYTES
    small_lines = _lines_run_in_contacts(small)
    large_lines = _lines_run_in_contacts(large)
    # Four times the input: about four times the work when linear, 16 when quadratic.
    assert large_lines < 6 * small_lines
    assert large_lines < 20 * len(large)
