"""vCard 2.1, 3.0 and 4.0 reader.

vobject 0.9.9 is not used for reading. Tried here, it kept the backslash of
``https\\://`` and cut a ``data:`` URI at its comma. It also puts the text of a line it
cannot read into its ParseError message, and with ``ignoreUnreadable`` into an ERROR
log record, but payload text must never reach a log. It has no size cap either.
This reader is one pass over at most ``MAX_LINES`` lines and ``MAX_PROPERTIES``
properties instead:

- lines end in CRLF, LF or CR; a line starting with a space or tab continues the one
  before (RFC 6350 3.2), and a quoted-printable line ending in ``=`` continues on the
  next line (vCard 2.1 soft break);
- names and parameters are case-insensitive, groups (``item1.EMAIL``) are dropped,
  bare 2.1 parameters (``TEL;WORK;VOICE``) count as TYPE values, and double-quoted
  parameter values may hold ``:`` and ``;``;
- each property may carry its own ENCODING and CHARSET (UTF-8, Windows-1252, Shift_JIS
  or any other character set Python's codecs module provides), and an unknown CHARSET,
  or an escape codec such as ``unicode-escape``, falls back to UTF-8, then
  Windows-1252;
- PHOTO, LOGO, SOUND and KEY are skipped whatever their encoding;
- lines before BEGIN are ignored; END, or the end of the text, closes the card.
"""

from __future__ import annotations

import codecs
import quopri
import re
from dataclasses import dataclass

from kiosk.contacts.draft import Draft
from kiosk.contacts.escapes import split_unescaped, unescape
from kiosk.contacts.model import Address
from kiosk.contacts.teluri import parse_tel_uri

MAX_LINES = 2000
MAX_PROPERTIES = 500
MAX_PARAMETERS = 32

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Control characters and lone surrogates a CHARSET decoder may produce.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BINARY_PROPERTIES = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_BARE_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"})
# Codecs that are not character sets: they would turn escape sequences into
# characters. Compared by the canonical name codecs.lookup returns ("unicode-escape"),
# so every spelling of a CHARSET parameter maps to the same entry.
_UNSAFE_CODECS = frozenset(
    codecs.lookup(name).name
    for name in (
        "unicode_escape",
        "raw_unicode_escape",
        "idna",
        "punycode",
        "undefined",
    )
)
_NO_PREFERENCE = 101


@dataclass
class Property:
    """One content line: upper-case name without group, parameters, raw value."""

    name: str
    params: dict[str, list[str]]
    value: str
    order: int

    @property
    def types(self) -> set[str]:
        """The TYPE values in upper case, from every TYPE parameter."""
        return {value.upper() for value in self.params.get("TYPE", [])}

    @property
    def preference(self) -> int:
        """The rank of the value: 1 is the most preferred, as in PREF=1."""
        for value in self.params.get("PREF", []):
            if value.isdigit():
                return max(1, min(int(value), 100))
        return 1 if "PREF" in self.types else _NO_PREFERENCE


def looks_like_vcard(text: str) -> bool:
    """Is the first non-blank line ``BEGIN:VCARD`` (in any case)?"""
    head = text.lstrip()[:11]
    return head.upper() == "BEGIN:VCARD"


def read_vcard(text: str, *, raw_bytes: bool = False) -> Draft:
    """Read the first vCard in ``text`` into a draft.

    Args:
        text: the payload text, starting with ``BEGIN:VCARD``.
        raw_bytes: ``text`` is the payload's bytes decoded as Latin-1 because they were
            not UTF-8; each value is then decoded with its own CHARSET.
    """
    properties = _read_properties(text, raw_bytes)
    version = next((p.value.strip() for p in properties if p.name == "VERSION"), "")
    source_format = f"vcard-{version}" if version in ("2.1", "3.0", "4.0") else "vcard"
    draft = Draft(source_format=source_format)
    _fill_names(draft, properties)
    _fill_contact_points(draft, properties)
    _fill_organisation(draft, properties)
    return draft


def _read_properties(text: str, raw_bytes: bool) -> list[Property]:
    lines = _LINE_BREAK.split(text, maxsplit=MAX_LINES)[:MAX_LINES]
    properties: list[Property] = []
    depth = 0
    for line in _unfold(lines):
        prop = _parse_line(line, len(properties))
        if prop is None:
            continue
        if prop.name == "BEGIN":
            depth += 1
            continue
        if prop.name == "END":
            depth -= 1
            if depth <= 0:
                break
            continue
        # Properties of a nested card (a 2.1 AGENT) belong to someone else.
        if depth != 1 or prop.name in _BINARY_PROPERTIES:
            continue
        prop.value = _decode_value(prop, raw_bytes)
        properties.append(prop)
        if len(properties) >= MAX_PROPERTIES:
            break
    return properties


def _unfold(lines: list[str]) -> list[str]:
    logical: list[_LogicalLine] = []
    for line in lines:
        current = logical[-1] if logical else None
        if current is not None and current.continues_quoted_printable():
            # Keep the soft break in the value: quopri removes it when decoding.
            current.append("\r\n" + line)
        elif current is not None and line[:1] in (" ", "\t"):
            current.append(line[1:])
        else:
            logical.append(_LogicalLine(line))
    return [line.text() for line in logical]


class _LogicalLine:
    """A content line being unfolded, with its property head scanned only once.

    Each appended fragment is scanned at most once for the colon that ends the name
    and parameters, so unfolding costs time linear in the payload length however many
    soft breaks or folds a value has.
    """

    def __init__(self, first: str) -> None:
        self._parts: list[str] = []
        self._head: list[str] = []
        self._head_done = False
        self._in_quotes = False
        self._quoted_printable = False
        self._ends_with_equals = False
        self.append(first)

    def append(self, fragment: str) -> None:
        self._parts.append(fragment)
        if fragment:
            self._ends_with_equals = fragment.endswith("=")
        if not self._head_done:
            self._scan_head(fragment)

    def continues_quoted_printable(self) -> bool:
        """Does the value end in a quoted-printable soft break (``=``)?"""
        return self._quoted_printable and self._ends_with_equals

    def text(self) -> str:
        return "".join(self._parts)

    def _scan_head(self, fragment: str) -> None:
        for index, char in enumerate(fragment):
            if char == '"':
                self._in_quotes = not self._in_quotes
            elif char == ":" and not self._in_quotes:
                self._head.append(fragment[:index])
                self._head_done = True
                head = "".join(self._head)
                self._quoted_printable = "QUOTED-PRINTABLE" in head.upper()
                return
        self._head.append(fragment)


def _find_unquoted(text: str, char: str) -> int:
    in_quotes = False
    for index, current in enumerate(text):
        if current == '"':
            in_quotes = not in_quotes
        elif current == char and not in_quotes:
            return index
    return -1


def _parse_line(line: str, order: int) -> Property | None:
    colon = _find_unquoted(line, ":")
    if colon <= 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    parts = _split_unquoted(head, ";")
    name = parts[0].strip().upper().rsplit(".", 1)[-1]
    if not name:
        return None
    params: dict[str, list[str]] = {}
    for part in parts[1 : MAX_PARAMETERS + 1]:
        key, sep, param_value = part.partition("=")
        key = key.strip().upper()
        if not sep:
            key, param_value = _bare_parameter(key)
        values = [v.strip().strip('"') for v in _split_unquoted(param_value, ",")]
        if key == "TYPE":
            # RFC 6350 writes a TYPE list in quotes too: TYPE="voice,home".
            values = [v.strip() for value in values for v in value.split(",")]
        params.setdefault(key, []).extend(v for v in values if v)
    return Property(name, params, value, order)


def _bare_parameter(token: str) -> tuple[str, str]:
    if token in _BARE_ENCODINGS:
        return "ENCODING", token
    if token == "PREF":
        return "TYPE", "PREF"
    return "TYPE", token


def _split_unquoted(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    start = 0
    in_quotes = False
    for index, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif char == separator and not in_quotes:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _decode_value(prop: Property, raw_bytes: bool) -> str:
    encoding = {value.upper() for value in prop.params.get("ENCODING", [])}
    charsets = prop.params.get("CHARSET", [])
    charset = charsets[0] if charsets else ""
    if "QUOTED-PRINTABLE" in encoding:
        data = prop.value.encode("latin-1" if raw_bytes else "utf-8", "replace")
        decoded = _decode_bytes(quopri.decodestring(data), charset)
    elif raw_bytes:
        decoded = _decode_bytes(prop.value.encode("latin-1", "replace"), charset)
    else:
        decoded = prop.value
    return _CONTROL.sub("", decoded.replace("\r\n", "\n"))


def _decode_bytes(data: bytes, charset: str) -> str:
    if charset and _is_safe_codec(charset):
        try:
            return data.decode(charset)
        except (UnicodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _is_safe_codec(name: str) -> bool:
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return False
    return info.name not in _UNSAFE_CODECS


def _ranked(properties: list[Property], name: str) -> list[Property]:
    chosen = [p for p in properties if p.name == name]
    return sorted(chosen, key=lambda p: (p.preference, p.order))


def _fill_names(draft: Draft, properties: list[Property]) -> None:
    for prop in _ranked(properties, "N")[:1]:
        parts = [_join_list(part) for part in split_unescaped(prop.value, ";", 5)]
        parts += [""] * (5 - len(parts))
        draft.last_name, draft.first_name, draft.middle_name = parts[:3]
        draft.prefix, draft.suffix = parts[3], parts[4]
    for prop in _ranked(properties, "FN")[:1]:
        draft.full_name = unescape(prop.value)
    for prop in _ranked(properties, "NICKNAME")[:1]:
        draft.nickname = unescape(split_unescaped(prop.value, ",")[0])


def _join_list(component: str) -> str:
    # An N component may be a comma list ("Kwame,Ato"); the form shows it with spaces.
    values = [unescape(value).strip() for value in split_unescaped(component, ",")]
    return " ".join(value for value in values if value)


def _fill_contact_points(draft: Draft, properties: list[Property]) -> None:
    draft.emails = [unescape(p.value).strip() for p in _ranked(properties, "EMAIL")]
    for prop in _ranked(properties, "TEL"):
        number, extension = _tel_value(prop.value)
        if "FAX" in prop.types:
            draft.fax = draft.fax or number
        else:
            draft.phones.append((number, extension))
    for prop in _ranked(properties, "URL"):
        url = unescape(prop.value).strip()
        if _is_linkedin(url):
            draft.linkedin_url = draft.linkedin_url or url
        else:
            draft.website = draft.website or url
    for prop in _ranked(properties, "X-SOCIALPROFILE"):
        url = unescape(prop.value).strip()
        if not draft.linkedin_url and ("LINKEDIN" in prop.types or _is_linkedin(url)):
            draft.linkedin_url = url


def _tel_value(value: str) -> tuple[str, str]:
    text = unescape(value).strip()
    if text[:4].lower() == "tel:":
        uri = parse_tel_uri(text)
        return uri.number, uri.extension
    return text, ""


def _is_linkedin(url: str) -> bool:
    lowered = url.lower()
    return "linkedin.com/" in lowered


def _fill_organisation(draft: Draft, properties: list[Property]) -> None:
    for prop in _ranked(properties, "ORG")[:1]:
        units = [unescape(part).strip() for part in split_unescaped(prop.value, ";")]
        draft.company = units[0]
        draft.department = [unit for unit in units[1:] if unit]
    for prop in _ranked(properties, "TITLE")[:1]:
        draft.title = unescape(prop.value)
    notes = [unescape(p.value).strip() for p in properties if p.name == "NOTE"]
    draft.notes = "\n".join(note for note in notes if note)
    for prop in _ranked(properties, "ADR")[:1]:
        draft.address = _address(prop.value)


def _address(value: str) -> Address:
    parts = [unescape(part).strip() for part in split_unescaped(value, ";", 7)]
    parts += [""] * (7 - len(parts))
    po_box, extended, street = parts[0], parts[1], parts[2]
    street_lines = [part for part in (street, extended, po_box) if part]
    return Address(
        street=", ".join(street_lines),
        city=parts[3],
        region=parts[4],
        postal_code=parts[5],
        country=parts[6],
    )
