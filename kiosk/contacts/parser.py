"""Entry point of payload parsing: input checks, then the reader for the format.

The checks run before any reader, in this order: size (over 8 KiB is rejected),
emptiness, then text-ness (bytes that are not UTF-8, or control characters other than
tab, CR and LF). One exception to the UTF-8 rule: a byte payload that starts with
``BEGIN:VCARD`` is read even when it is not UTF-8, because vCard 2.1 lets each
property name its own CHARSET (Shift_JIS, Windows-1252, ...).
"""

from __future__ import annotations

import logging
import re

from kiosk.config import Config
from kiosk.contacts import badges, mecard, plaintext, urls, vcard
from kiosk.contacts.draft import Draft, build_contact, unrecognized
from kiosk.contacts.model import (
    BINARY_PAYLOAD,
    EMPTY_PAYLOAD,
    PAYLOAD_TOO_LARGE,
    Contact,
    PayloadRejected,
)
from kiosk.contacts.normalize import region_or_default
from kiosk.contacts.teluri import is_tel_uri

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 8 * 1024

_BOM = "\ufeff"
# C0 controls except tab, LF and CR; DEL; C1 controls; lone surrogates.
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_MESSAGES = {
    EMPTY_PAYLOAD: "The code is empty. Scan it again or enter the details by hand.",
    PAYLOAD_TOO_LARGE: (
        "The code holds more than 8 KiB, more than a badge or business card holds. "
        "Enter the details by hand."
    ),
    BINARY_PAYLOAD: (
        "The code holds binary data, not text. Enter the details by hand."
    ),
}


def parse(payload: str | bytes, config: Config | None = None) -> Contact:
    """Turn a QR payload into a contact draft.

    Args:
        payload: the decoded text, or the raw bytes of the code (read as UTF-8).
        config: badge layouts, registration hosts and the default phone region;
            ``None`` uses the defaults (region US, no layouts, no hosts).

    Raises:
        PayloadRejected: with code ``empty_payload``, ``payload_too_large``,
            ``binary_payload`` or ``unrecognized_payload``.
    """
    config = config or Config()
    text, raw_bytes = _checked_text(payload)
    draft = _read(text, raw_bytes, config)
    contact = build_contact(draft, region_or_default(config.capture.default_region))
    log.debug(
        "payload read as %s with %d warning(s)",
        contact.source_format,
        len(contact.warnings),
    )
    return contact


def _reject(code: str) -> PayloadRejected:
    log.debug("payload rejected: %s", code)
    return PayloadRejected(code, _MESSAGES[code])


def _checked_text(payload: str | bytes) -> tuple[str, bool]:
    """Apply the size, empty and binary checks; return the text and its kind."""
    if isinstance(payload, str):
        # Every character is at least one UTF-8 byte, so this skips encoding huge text.
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise _reject(PAYLOAD_TOO_LARGE)
        if len(payload.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
            raise _reject(PAYLOAD_TOO_LARGE)
        if _BINARY_CHARS.search(payload):
            raise _reject(BINARY_PAYLOAD)
        return _without_bom(payload), False
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise _reject(PAYLOAD_TOO_LARGE)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return _legacy_vcard_text(payload), True
    if _BINARY_CHARS.search(text):
        raise _reject(BINARY_PAYLOAD)
    return _without_bom(text), False


def _without_bom(text: str) -> str:
    text = text.removeprefix(_BOM)
    if not text.strip():
        raise _reject(EMPTY_PAYLOAD)
    return text


def _legacy_vcard_text(payload: bytes) -> str:
    """Return non-UTF-8 bytes as Latin-1 text when they are a vCard, else reject."""
    if _BINARY_BYTES.search(payload):
        raise _reject(BINARY_PAYLOAD)
    text = payload.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    if not vcard.looks_like_vcard(text):
        raise _reject(BINARY_PAYLOAD)
    return text


def _read(text: str, raw_bytes: bool, config: Config) -> Draft:
    if vcard.looks_like_vcard(text):
        return vcard.read_vcard(text, raw_bytes=raw_bytes)
    stripped = text.strip()
    draft = _read_prefixed(stripped)
    if draft is None and stripped.startswith("{"):
        draft = badges.read_json_badge(stripped)
    if draft is None:
        draft = urls.read_url(stripped, config.badge_hosts)
    if draft is None:
        draft = badges.read_layout_badge(stripped, config.badge_layouts)
    if draft is None:
        draft = badges.read_bare_id(stripped)
    region = region_or_default(config.capture.default_region)
    if draft is None:
        draft = badges.read_unlabelled_fields(stripped, region)
    if draft is None:
        draft = plaintext.read_plain_text(stripped, region)
    if draft is None:
        raise unrecognized()
    return draft


def _read_prefixed(text: str) -> Draft | None:
    if text[:6].upper() == "MEBKM:":
        return urls.read_mebkm(text[6:])
    prefix = mecard.detect_prefix(text)
    body = text[len(prefix) :]
    if prefix == "MECARD:":
        return mecard.read_mecard(body)
    if prefix == "BIZCARD:":
        return mecard.read_bizcard(body)
    if prefix == "MATMSG:":
        return mecard.read_matmsg(body)
    # "Tel: +1 415 555 0132" followed by more text is a label in free text, not a URI.
    if prefix == "MAILTO:" and mecard.is_mailto_uri(text):
        return mecard.read_mailto(text)
    if prefix == "TEL:" and is_tel_uri(text):
        return mecard.read_tel(text)
    return None
