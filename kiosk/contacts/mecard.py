"""DoCoMo-style formats (MECARD, BIZCARD, MATMSG) and ``mailto:`` and ``tel:`` URIs.

MECARD, BIZCARD and MATMSG are ``PREFIX:KEY:value;KEY:value;;`` with backslash escapes.
The closing ``;;`` is often missing, so the text simply ends the last field.
"""

from __future__ import annotations

from urllib.parse import unquote

from kiosk.contacts.draft import Draft
from kiosk.contacts.escapes import split_unescaped, unescape
from kiosk.contacts.model import Address
from kiosk.contacts.teluri import parse_tel_uri

MAX_FIELDS = 200
MAX_ADDRESSES = 20

PREFIXES = ("MECARD:", "BIZCARD:", "MATMSG:", "MAILTO:", "TEL:")


def detect_prefix(text: str) -> str:
    """Return the format prefix (upper case) the text starts with, or ``""``."""
    head = text[:8].upper()
    return next((prefix for prefix in PREFIXES if head.startswith(prefix)), "")


def fields(body: str) -> list[tuple[str, str]]:
    """Split ``KEY:value;KEY:value;;`` into (upper-case key, unescaped value) pairs."""
    pairs: list[tuple[str, str]] = []
    for item in split_unescaped(body.strip(), ";", MAX_FIELDS):
        key, sep, value = item.partition(":")
        if sep and key.strip():
            pairs.append((key.strip().upper(), value))
    return pairs


def read_mecard(body: str) -> Draft:
    """Read the part of a MECARD after ``MECARD:``."""
    draft = Draft(source_format="mecard")
    for key, raw in fields(body):
        value = unescape(raw).strip()
        if key == "N":
            _mecard_name(draft, raw)
        elif key in ("TEL", "TEL-AV"):
            draft.phones.append((value, ""))
        elif key == "EMAIL":
            draft.emails.append(value)
        elif key == "ADR" and draft.address is None:
            draft.address = _mecard_address(raw)
        elif key == "URL" and not draft.website:
            draft.website = value
        elif key == "ORG" and not draft.company:
            draft.company = value
        elif key == "TITLE" and not draft.title:
            draft.title = value
        elif key == "NICKNAME" and not draft.nickname:
            draft.nickname = value
        elif key == "NOTE":
            draft.notes = "\n".join(part for part in (draft.notes, value) if part)
    return draft


def _mecard_name(draft: Draft, raw: str) -> None:
    parts = split_unescaped(raw, ",", 2)
    if len(parts) == 2:
        draft.last_name = unescape(parts[0]).strip()
        draft.first_name = unescape(parts[1]).strip()
    else:
        # Many encoders write N as a full name; split it like a vCard FN.
        draft.full_name = unescape(raw).strip()


def _mecard_address(raw: str) -> Address:
    parts = [unescape(part).strip() for part in split_unescaped(raw, ",", 8)]
    if len(parts) != 7:
        return Address(street=unescape(raw).strip())
    po_box, extended, street, city, region, postal_code, country = parts
    street_lines = [part for part in (street, extended, po_box) if part]
    return Address(", ".join(street_lines), city, region, postal_code, country)


def read_bizcard(body: str) -> Draft:
    """Read the part of a BIZCARD after ``BIZCARD:``.

    Unlike MECARD, N is the first name and X the last name.
    """
    draft = Draft(source_format="bizcard")
    business = mobile = ""
    for key, raw in fields(body):
        value = unescape(raw).strip()
        if key == "N":
            draft.first_name = value
        elif key == "X":
            draft.last_name = value
        elif key == "T":
            draft.title = value
        elif key == "C":
            draft.company = value
        elif key == "A":
            draft.address = Address(street=value)
        elif key == "B":
            business = business or value
        elif key == "M":
            mobile = mobile or value
        elif key == "F":
            draft.fax = draft.fax or value
        elif key == "E":
            draft.emails.append(value)
    draft.phones = [(number, "") for number in (business, mobile) if number]
    return draft


def read_matmsg(body: str) -> Draft:
    """Read a MATMSG: TO is the email; subject and body go to the notes only."""
    draft = Draft(source_format="matmsg")
    subject = text = ""
    for key, raw in fields(body):
        value = unescape(raw).strip()
        if key == "TO":
            draft.emails.append(value)
        elif key == "SUB":
            subject = value
        elif key == "BODY":
            text = value
    draft.notes = "\n".join(part for part in (subject, text) if part)
    return draft


def is_mailto_uri(text: str) -> bool:
    """Is ``text`` one ``mailto:`` URI, with no space in its addresses?"""
    addresses = text.strip()[7:].partition("?")[0]
    return not any(char.isspace() for char in addresses.strip())


def read_mailto(uri: str) -> Draft:
    """Read a ``mailto:`` URI (RFC 6068): percent-decoded, ``+`` kept as a plus sign.

    The first address is the email, further ``to`` addresses are other emails; the
    subject and body go to the notes. Cc and bcc are other people and are ignored.
    """
    draft = Draft(source_format="mailto")
    path, _, query = uri[7:].partition("?")
    addresses = [unquote(part).strip() for part in path.split(",")[:MAX_ADDRESSES]]
    subject = text = ""
    for key, value in _query_pairs(query):
        if key == "to":
            addresses.extend(part.strip() for part in value.split(",")[:MAX_ADDRESSES])
        elif key == "subject":
            subject = value.strip()
        elif key == "body":
            text = value.strip()
    draft.emails = [address for address in addresses if address][:MAX_ADDRESSES]
    draft.notes = "\n".join(part for part in (subject, text) if part)
    return draft


def _query_pairs(query: str) -> list[tuple[str, str]]:
    # parse_qsl would turn '+' into a space, which breaks plus addressing.
    pairs = []
    for item in query.split("&")[:MAX_FIELDS]:
        key, _, value = item.partition("=")
        pairs.append((unquote(key).strip().lower(), unquote(value)))
    return pairs


def read_tel(uri: str) -> Draft:
    """Read a ``tel:`` URI: a phone number and its extension, nothing else."""
    parsed = parse_tel_uri(uri)
    draft = Draft(source_format="tel")
    draft.phones.append((parsed.number, parsed.extension))
    return draft
