"""Payload parsing, normalisation and validation. No Qt here."""

from kiosk.contacts.model import Address, Contact, FieldWarning, PayloadRejected
from kiosk.contacts.parser import MAX_PAYLOAD_BYTES, parse

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "Address",
    "Contact",
    "FieldWarning",
    "PayloadRejected",
    "parse",
]
