"""Event badges: JSON badges, delimited badges, bare attendee ids, registration URLs.

A delimited badge is read by position only with an event layout from the
configuration. Without a layout only what a field shows by its form (an email, a
phone written as one) is taken, and names are never guessed from position.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, parse_qs

from kiosk.config import BadgeHost, BadgeLayout
from kiosk.contacts.draft import Draft
from kiosk.contacts.normalize import (
    normalize_email,
    normalize_phone,
    split_extension,
    split_full_name,
)

MAX_COLUMNS = 64

# A bare attendee id: one token of letters, digits and - _ . / with at least one digit.
_BARE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{2,63}")
# A field that is a phone number by its form: a leading + or separators between digits.
_PHONE_FORM = re.compile(r"\+?[\d(][\d ().-]{5,24}\d")
# A date as badges print it: 2024-05-01, 01/05/2024, 1.5.24.
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")

# JSON keys compared without case, spaces, '-' and '_'.
_JSON_KEYS: dict[str, str] = {
    **dict.fromkeys(
        ("attendeeid", "badgeid", "badge", "id", "registrationid", "regid",
         "ticketid", "barcode"),
        "badge_id",
    ),
    **dict.fromkeys(("firstname", "givenname", "first", "fname"), "first_name"),
    **dict.fromkeys(
        ("lastname", "familyname", "surname", "last", "lname"), "last_name"
    ),
    **dict.fromkeys(("middlename", "middle"), "middle_name"),
    **dict.fromkeys(("name", "fullname", "displayname"), "name"),
    **dict.fromkeys(("email", "emailaddress", "mail"), "email"),
    **dict.fromkeys(
        ("phone", "phonenumber", "mobile", "mobilephone", "tel", "telephone", "cell"),
        "phone",
    ),
    **dict.fromkeys(
        ("company", "companyname", "organization", "organisation", "org", "employer"),
        "company",
    ),
    **dict.fromkeys(("jobtitle", "title", "position", "role"), "title"),
    **dict.fromkeys(("department", "dept"), "department"),
    **dict.fromkeys(("website", "url", "web", "homepage"), "website"),
    **dict.fromkeys(("linkedin", "linkedinurl"), "linkedin_url"),
    **dict.fromkeys(("event", "eventcode", "eventid"), "event_code"),
}  # fmt: skip


def read_json_badge(text: str) -> Draft | None:
    """Read a JSON object badge; return ``None`` when the text is not a JSON object.

    Known keys are mapped; unknown keys (dietary needs, nested objects) are ignored.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    draft = Draft(source_format="badge-json")
    for key, value in list(data.items())[:MAX_COLUMNS]:
        field_name = _JSON_KEYS.get(re.sub(r"[\s_-]", "", str(key)).lower())
        if field_name is None or isinstance(value, bool):
            continue
        if isinstance(value, str | int):
            _set_field(draft, field_name, str(value))
    return draft


def read_layout_badge(text: str, layouts: Sequence[BadgeLayout]) -> Draft | None:
    """Read a delimited badge with the first layout whose column count fits."""
    for layout in layouts:
        if layout.delimiter not in text:
            continue
        row = _first_row(text, layout.delimiter)
        if row is None or len(row) != len(layout.columns):
            continue
        draft = Draft(source_format="badge-delimited")
        for column, value in zip(layout.columns, row, strict=True):
            if column != "ignore":
                _set_field(draft, column, value)
        return draft
    return None


def read_unlabelled_fields(
    text: str, region: str, delimiters: str = ",;|\t"
) -> Draft | None:
    """Take emails and phones from a delimited badge that no layout describes.

    The whole payload must be one row, and every field holding an ``@`` must be an
    email address as a whole. Otherwise the text is prose ("call +1 415 555 0132, or
    email me at jo@example.com") and is left to the plain-text reader. Of the
    delimiters present, the one whose fields give the most emails and phones wins.

    Args:
        text: the payload text.
        region: the default region for phone numbers without a country code.
        delimiters: the candidate delimiters, tried in this order.

    Returns:
        A draft with only emails and phones, or ``None`` when no field is either.
    """
    best: Draft | None = None
    best_count = 0
    for delimiter in delimiters:
        if delimiter not in text:
            continue
        draft = _read_unlabelled_row(text, delimiter, region)
        count = len(draft.emails) + len(draft.phones) if draft else 0
        if count > best_count:
            best, best_count = draft, count
    return best


def _read_unlabelled_row(text: str, delimiter: str, region: str) -> Draft | None:
    row = _only_row(text, delimiter)
    if row is None or len(row) < 2:
        return None
    draft = Draft(source_format="badge-delimited")
    for value in row:
        if "@" in value:
            if normalize_email(value) is None:
                return None
            draft.emails.append(value)
        elif is_phone_by_form(value, region):
            draft.phones.append((value, ""))
    if not (draft.emails or draft.phones):
        return None
    return draft


def is_phone_by_form(value: str, region: str) -> bool:
    """Is a badge field a phone number by its form alone?

    It needs a leading ``+``, or separators between its digits, and a number that
    phonenumbers' metadata lists as valid. A bare digit string may be an attendee id
    and a date ("2024-05-01") is never a phone, so neither counts.
    """
    number, _ = split_extension(value)
    number = number.strip()
    if not _PHONE_FORM.fullmatch(number) or number.isdigit() or _DATE.fullmatch(number):
        return False
    phone = normalize_phone(value, region)
    return phone is not None and phone.valid


def read_bare_id(text: str) -> Draft | None:
    """Read a bare attendee id such as ``004417920031`` or ``A-5521``.

    A digit string is an id here, never a phone: a leading ``00`` is an international
    prefix in many regions, so dialling it would reach a stranger.
    """
    token = text.strip()
    if not _BARE_ID.fullmatch(token) or not any(char.isdigit() for char in token):
        return None
    return Draft(source_format="badge-id", badge_id=token, needs_lookup=True)


def read_badge_url(
    url: str, parts: SplitResult, hosts: Sequence[BadgeHost]
) -> Draft | None:
    """Read the attendee id from a URL on a configured registration host."""
    host = (parts.hostname or "").lower()
    for badge_host in hosts:
        if host != badge_host.host:
            continue
        query = parse_qs(parts.query, max_num_fields=MAX_COLUMNS)
        badge_id = _first(query, badge_host.id_param)
        if not badge_id:
            continue
        event = _first(query, badge_host.event_param) if badge_host.event_param else ""
        return Draft(
            source_format="badge-url",
            badge_id=badge_id,
            event_code=event,
            profile_url=url,
            needs_lookup=True,
        )
    return None


def _first(query: dict[str, list[str]], key: str) -> str:
    values = query.get(key, [])
    return values[0].strip() if values else ""


def _first_row(text: str, delimiter: str) -> list[str] | None:
    """Return the first record of the text read as CSV (RFC 4180 quoting).

    A quoted field may hold line breaks, so the record may span several lines.
    """
    rows = _rows(text, delimiter, 1)
    return rows[0] if rows else None


def _only_row(text: str, delimiter: str) -> list[str] | None:
    """Return the record when the whole text is one CSV record, else ``None``."""
    rows = _rows(text, delimiter, 2)
    return rows[0] if len(rows) == 1 else None


def _rows(text: str, delimiter: str, limit: int) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text.strip()), delimiter=delimiter, skipinitialspace=True
    )
    rows: list[list[str]] = []
    try:
        for row in itertools.islice(reader, limit):
            if len(row) > MAX_COLUMNS:
                return []
            rows.append([value.strip() for value in row])
    except csv.Error:
        return []
    return rows


def _set_field(draft: Draft, field_name: str, value: str) -> None:
    value = value.strip()
    if not value:
        return
    if field_name == "name":
        for key, part in split_full_name(value).items():
            if part and not getattr(draft, key):
                setattr(draft, key, part)
    elif field_name == "email":
        draft.emails.append(value)
    elif field_name == "phone":
        draft.phones.append((value, ""))
    elif field_name == "department":
        draft.department.append(value)
    else:
        _set_text(draft, field_name, value)


def _set_text(draft: Draft, field_name: str, value: str) -> None:
    current: Any = getattr(draft, field_name, None)
    if isinstance(current, str) and not current:
        setattr(draft, field_name, value)
