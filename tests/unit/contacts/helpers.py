"""Small helpers shared by the contact parser tests."""

from __future__ import annotations

import tomllib
from typing import Any

from kiosk.config import Config, parse_config
from kiosk.contacts import PayloadRejected, parse


def fields(payload: str | bytes, config: Config | None = None) -> dict[str, Any]:
    """Parse a payload and return its JSON dict (warnings reduced to codes)."""
    return parse(payload, config).to_json_dict()


def rejection(payload: str | bytes, config: Config | None = None) -> str:
    """Parse a payload that must be rejected and return the rejection code."""
    try:
        contact = parse(payload, config)
    except PayloadRejected as error:
        return error.code
    raise AssertionError(f"accepted as {contact.source_format}")


def config(toml_text: str) -> Config:
    """Build a configuration from TOML text."""
    return parse_config(tomllib.loads(toml_text))


def vcard(*lines: str, end: bool = True, newline: str = "\r\n") -> str:
    """Wrap content lines in BEGIN:VCARD and (unless ``end`` is false) END:VCARD."""
    body = ["BEGIN:VCARD", *lines] + (["END:VCARD"] if end else [])
    return newline.join(body) + newline
