"""Payload parsing, normalisation and validation. No Qt here."""

from kiosk.contacts.model import Address, Contact, FieldWarning, PayloadRejected

__all__ = ["Address", "Contact", "FieldWarning", "PayloadRejected"]
