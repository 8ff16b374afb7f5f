"""The contact draft produced by the payload parser, and its coded rejection."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.errors import KioskError

# Error codes of a payload that is not a contact.
EMPTY_PAYLOAD = "empty_payload"
PAYLOAD_TOO_LARGE = "payload_too_large"
BINARY_PAYLOAD = "binary_payload"
UNRECOGNIZED_PAYLOAD = "unrecognized_payload"


@dataclass(frozen=True)
class Address:
    """A postal address split into its parts; every part may be empty."""

    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def is_empty(self) -> bool:
        """Is every part of the address empty?"""
        return not any(asdict(self).values())


@dataclass(frozen=True)
class FieldWarning:
    """A problem with one field that the operator should see beside it.

    Attributes:
        code: a stable identifier such as ``invalid_email`` or ``too_long``.
        field: the contact field the warning belongs to (``""`` for the whole contact).
        message: text for the operator; it never repeats the visitor's data.
    """

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class Contact:
    """A contact draft read from a QR payload, in the kiosk's own field names.

    Empty strings, empty tuples and ``None`` mean "not present in the payload".
    """

    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    prefix: str = ""
    suffix: str = ""
    nickname: str = ""
    email: str = ""
    other_emails: tuple[str, ...] = ()
    phone: str = ""
    phone_ext: str = ""
    other_phones: tuple[str, ...] = ()
    fax: str = ""
    company: str = ""
    department: tuple[str, ...] = ()
    title: str = ""
    website: str = ""
    linkedin_url: str = ""
    address: Address | None = None
    notes: str = ""
    badge_id: str = ""
    event_code: str = ""
    profile_url: str = ""
    needs_lookup: bool = False
    source_format: str = ""
    warnings: tuple[FieldWarning, ...] = field(default=())

    @property
    def dedup_key(self) -> str:
        """Return the case-folded email, the key that finds a returning visitor."""
        return self.email.casefold()

    def to_json_dict(self) -> dict[str, Any]:
        """Return the fields that are present, as ``kiosk parse`` prints them.

        Warnings are reduced to their codes; lists stay in payload order. The address
        lists only the parts that are present.
        """
        result: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if name == "warnings":
                continue
            if name == "needs_lookup":
                if value:
                    result[name] = True
                continue
            if name == "address":
                if self.address is not None and not self.address.is_empty():
                    parts = asdict(self.address).items()
                    result[name] = {key: part for key, part in parts if part}
                continue
            if value in ("", (), None):
                continue
            result[name] = list(value) if isinstance(value, tuple) else value
        if self.warnings:
            result["warnings"] = [w.code for w in self.warnings]
        return result


class PayloadRejected(KioskError):
    """A payload that is not a contact.

    Attributes:
        code: one of ``empty_payload``, ``payload_too_large``, ``binary_payload`` and
            ``unrecognized_payload``.
        message: the text an operator reads, for example "This code holds text but no
            contact details. Enter them by hand."
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json_dict(self) -> dict[str, str]:
        """Return ``{"error": code, "message": message}``."""
        return {"error": self.code, "message": self.message}
