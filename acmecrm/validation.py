"""Validation of contacts in AcmeCRM field names."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Maximum length of each text field, in characters.
TEXT_FIELDS: dict[str, int] = {
    "acme_first_name": 100,
    "acme_last_name": 100,
    "acme_email": 254,
    "acme_phone": 20,
    "acme_company": 200,
    "acme_job_title": 150,
    "acme_linkedin": 500,
    "acme_notes": 10_000,
    "acme_lead_rating": 10,
    "acme_consent_at": 64,
    "acme_consent_version": 100,
    "acme_badge_id": 200,
    "acme_event": 200,
    "acme_source": 100,
}
OBJECT_FIELDS = frozenset({"acme_qualifiers"})
KNOWN_FIELDS = frozenset(TEXT_FIELDS) | OBJECT_FIELDS
LEAD_RATINGS = ("hot", "warm", "cold")
#: Maximum levels of objects and lists in ``acme_qualifiers``, the field itself
#: included: {"budget": {"range": [1, 2]}} has 3.
MAX_QUALIFIERS_DEPTH = 5
#: Maximum length of ``acme_qualifiers`` as compact JSON text, in characters.
MAX_QUALIFIERS_CHARS = 10_000
#: Maximum contacts in one bulk request.
MAX_BULK = 100
#: Maximum length of an idempotency key, in characters.
MAX_KEY_LENGTH = 200

# A JSON encoder such as json.dumps with ensure_ascii, which requests uses, writes a
# character outside the Basic Multilingual Plane (4 bytes in UTF-8) as two \uXXXX
# escapes: 12 bytes. That is the most any character of a field value can take.
_MAX_BYTES_PER_CHAR = 12
# Field names, quotes, colons and commas of one contact, generously rounded up.
_CONTACT_SYNTAX_BYTES = 1024


def max_contact_json_bytes() -> int:
    """Return the largest valid bulk item as JSON, in bytes, with every field full.

    Counts every text field, ``acme_qualifiers`` and the idempotency key at their
    maximum lengths, each character at its longest escaped form.
    """
    chars = sum(TEXT_FIELDS.values()) + MAX_QUALIFIERS_CHARS + MAX_KEY_LENGTH
    # A client's encoder may put a space after each comma and colon of the
    # qualifiers, which their compact length leaves out, so one byte is added for
    # each of their characters.
    return chars * _MAX_BYTES_PER_CHAR + MAX_QUALIFIERS_CHARS + _CONTACT_SYNTAX_BYTES


# A deliberately simple check that needs no DNS: one "@", no spaces, and a domain of
# dot-separated labels of letters, digits and hyphens whose last label starts with a
# letter.
_EMAIL_RE = re.compile(
    r"^[^@\s]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z][A-Za-z0-9-]{0,62}$"
)

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class ValidatedContact:
    """A contact that passed validation.

    Attributes:
        fields: The contact's fields; empty optional fields are left out.
        email_key: The case-folded email, the key the CRM upserts by.
    """

    fields: dict[str, Any]
    email_key: str


def email_key(email: str) -> str:
    """Return the upsert key of an email address: stripped and case-folded."""
    return email.strip().casefold()


def is_valid_email(email: str) -> bool:
    """Is this a syntactically valid email address?"""
    local, _, domain = email.rpartition("@")
    if len(local) > 64 or len(domain) > 253:
        return False
    return _EMAIL_RE.match(email) is not None


def validate_contact(body: Mapping[str, Any]) -> tuple[ValidatedContact | None, Errors]:
    """Check a contact body and return it cleaned, or the errors by field name.

    Unknown field names are rejected so that a mapping mistake surfaces at once.
    An empty string or null counts as not given, so an empty ``acme_email`` is reported
    as required.
    """
    errors: Errors = {}
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name not in KNOWN_FIELDS:
            errors.setdefault(name, []).append("is not a known AcmeCRM field")
        elif value is None or value == "":
            continue
        elif name in OBJECT_FIELDS:
            _check_object(name, value, fields, errors)
        else:
            _check_text(name, value, fields, errors)

    email = fields.get("acme_email")
    if email is None and "acme_email" not in errors:
        errors["acme_email"] = ["is required"]
    elif email is not None and not is_valid_email(email):
        errors.setdefault("acme_email", []).append("is not a valid email")
    if errors:
        return None, errors
    assert isinstance(email, str)
    return ValidatedContact(fields=fields, email_key=email_key(email)), {}


def _check_object(
    name: str, value: Any, fields: dict[str, Any], errors: Errors
) -> None:
    if not isinstance(value, dict):
        errors.setdefault(name, []).append("must be a JSON object")
        return
    if _depth_exceeds(value, MAX_QUALIFIERS_DEPTH):
        errors.setdefault(name, []).append(
            f"is nested more than {MAX_QUALIFIERS_DEPTH} levels deep"
        )
        return
    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except ValueError:
        errors.setdefault(name, []).append("must not contain NaN or Infinity")
        return
    if len(text) > MAX_QUALIFIERS_CHARS:
        errors.setdefault(name, []).append(
            f"is too long ({len(text)} characters as JSON, "
            f"maximum is {MAX_QUALIFIERS_CHARS})"
        )
        return
    fields[name] = value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Is ``value`` nested more than ``limit`` levels of objects and lists deep?

    Walks with an explicit stack, so no depth of nesting can exhaust recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _check_text(name: str, value: Any, fields: dict[str, Any], errors: Errors) -> None:
    if not isinstance(value, str):
        errors.setdefault(name, []).append("must be a string")
        return
    value = value.strip() if name == "acme_email" else value
    limit = TEXT_FIELDS[name]
    if len(value) > limit:
        errors.setdefault(name, []).append(
            f"is too long ({len(value)} characters, maximum is {limit})"
        )
        return
    problem = _check_format(name, value)
    if problem:
        errors.setdefault(name, []).append(problem)
        return
    fields[name] = value


def _check_format(name: str, value: str) -> str:
    if name == "acme_lead_rating" and value not in LEAD_RATINGS:
        return "must be one of hot, warm, cold"
    if name == "acme_consent_at" and not _is_iso_datetime(value):
        return "is not an ISO 8601 date and time"
    return ""


def _is_iso_datetime(value: str) -> bool:
    # Since Python 3.11, fromisoformat accepts most ISO 8601 forms, "Z" included.
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
