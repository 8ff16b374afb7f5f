"""``tel:`` URIs (RFC 3966): the number, its ``ext`` and its ``phone-context``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

# The number part of a tel: URI: an optional leading "+", digits, the "*", "#" and
# pause characters of a local number, and visual separators. RFC 3966 allows "-",
# "." and parentheses as separators, and generators often write spaces too.
_NUMBER = re.compile(r"\+?[\d*#(][\d*#pw ().-]*", re.IGNORECASE)


@dataclass(frozen=True)
class TelUri:
    """The parts of a ``tel:`` URI the form uses."""

    number: str
    extension: str


def is_tel_uri(text: str) -> bool:
    """Is ``text`` a single ``tel:`` URI, not free text that starts with "Tel:"?"""
    body = text.strip()
    if body[:4].lower() != "tel:" or "\n" in body or "\r" in body:
        return False
    number, _, params = body[4:].partition(";")
    if any(char.isspace() for char in params):
        return False
    return _NUMBER.fullmatch(unquote(number).strip()) is not None


def parse_tel_uri(text: str) -> TelUri:
    """Split ``tel:+1-718-555-0126;ext=12`` into the number and the extension.

    Visual separators stay in the number for phonenumbers to drop. A local number
    with a ``phone-context`` that starts with ``+`` gets that prefix, so
    ``tel:555-0126;phone-context=+1-718`` is +1 718 555 0126 (RFC 3966 section 5.1.5).
    A domain-name context cannot be resolved and is ignored, like ``isub``.
    """
    body = text.strip()
    if body[:4].lower() == "tel:":
        body = body[4:]
    number, *params = body.split(";")
    number = unquote(number).strip()
    extension = context = ""
    for param in params:
        key, _, value = param.partition("=")
        key = key.strip().lower()
        if key == "ext":
            extension = "".join(char for char in unquote(value) if char.isdigit())
        elif key == "phone-context":
            context = unquote(value).strip()
    if context.startswith("+") and not number.startswith("+"):
        number = f"{context} {number}"
    return TelUri(number, extension)
