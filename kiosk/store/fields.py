"""Lead field names, their empty values, and the keys that find a returning visitor."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from kiosk.contacts.model import Contact

RATINGS = ("hot", "warm", "cold", "")

# Contact fields kept in a lead, with the value that means "absent".
CONTACT_FIELD_DEFAULTS: dict[str, Any] = {
    "first_name": "",
    "last_name": "",
    "middle_name": "",
    "prefix": "",
    "suffix": "",
    "nickname": "",
    "email": "",
    "other_emails": [],
    "phone": "",
    "phone_ext": "",
    "other_phones": [],
    "fax": "",
    "company": "",
    "department": [],
    "title": "",
    "website": "",
    "linkedin_url": "",
    "address": None,
    "notes": "",
    "badge_id": "",
    "event_code": "",
    "profile_url": "",
    "needs_lookup": False,
    "source_format": "",
}

# Fields the booth adds to what the payload carried.
BOOTH_FIELD_DEFAULTS: dict[str, Any] = {
    "rating": "",
    "consent_at": "",
    "consent_version": "",
    "answers": {},
    "event": "",
}

LEAD_FIELD_DEFAULTS: dict[str, Any] = {**CONTACT_FIELD_DEFAULTS, **BOOTH_FIELD_DEFAULTS}
LEAD_FIELDS: tuple[str, ...] = tuple(LEAD_FIELD_DEFAULTS)


def empty_fields() -> dict[str, Any]:
    """Return every lead field set to its empty value (fresh lists and dicts)."""
    return {name: _copy_default(value) for name, value in LEAD_FIELD_DEFAULTS.items()}


def merge_fields(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated with ``changes``, after checking the names and rating.

    Raises:
        ValueError: a name is not a lead field, or the rating is not hot, warm or cold.
    """
    unknown = sorted(set(changes) - set(LEAD_FIELD_DEFAULTS))
    if unknown:
        raise ValueError(
            f"Unknown lead field(s): {', '.join(unknown)}. "
            f"Accepted: {', '.join(LEAD_FIELDS)}."
        )
    merged = {**empty_fields(), **base, **changes}
    for name, value in merged.items():
        if value is None and LEAD_FIELD_DEFAULTS[name] is not None:
            merged[name] = _copy_default(LEAD_FIELD_DEFAULTS[name])
    if merged["rating"] not in RATINGS:
        raise ValueError(
            f"Invalid rating {merged['rating']!r}: use hot, warm, cold or nothing."
        )
    return merged


def lead_fields_from_contact(contact: Contact) -> dict[str, Any]:
    """Return the lead fields of a parsed contact, ready for ``save_lead``.

    Tuples become lists and the address a dict (or ``None``), so the result is JSON.
    Warnings are dropped: they belong on the form, not in the lead.
    """
    values = asdict(contact)
    fields: dict[str, Any] = {}
    for name in CONTACT_FIELD_DEFAULTS:
        value = values[name]
        if isinstance(value, tuple):
            value = list(value)
        fields[name] = value
    if contact.address is None or contact.address.is_empty():
        fields["address"] = None
    return fields


def email_key(email: str) -> str:
    """Return the case-folded email that identifies a returning visitor."""
    return email.strip().casefold()


def payload_key(payload_text: str) -> str:
    """Return the SHA-256 hex digest of a QR payload, or ``""`` for no payload."""
    if not payload_text:
        return ""
    return hashlib.sha256(payload_text.encode("utf-8")).hexdigest()


def search_key(fields: Mapping[str, Any]) -> str:
    """Return the case-folded text the lead list searches: name, email and company."""
    parts = (
        fields.get("first_name", ""),
        fields.get("last_name", ""),
        fields.get("email", ""),
        fields.get("company", ""),
    )
    return " ".join(str(part) for part in parts if part).casefold()


def _copy_default(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return value
