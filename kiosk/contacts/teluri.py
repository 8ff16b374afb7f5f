"""``tel:`` URIs (RFC 3966): the number and its ``ext`` parameter."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class TelUri:
    """The parts of a ``tel:`` URI the form uses."""

    number: str
    extension: str


def parse_tel_uri(text: str) -> TelUri:
    """Split ``tel:+1-718-555-0126;ext=12`` into the number and the extension.

    Visual separators stay in the number for phonenumbers to drop; parameters other
    than ``ext`` (``phone-context``, ``isub``) are ignored.
    """
    body = text.strip()
    if body[:4].lower() == "tel:":
        body = body[4:]
    number, *params = body.split(";")
    extension = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "ext":
            extension = "".join(char for char in unquote(value) if char.isdigit())
    return TelUri(unquote(number).strip(), extension)
