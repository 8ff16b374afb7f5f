"""Web addresses: digital business cards and MEBKM bookmarks.

A URL is recorded as ``profile_url`` and flagged ``needs_lookup``: nothing is fetched
and no field is guessed from the address, until a person looks it up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from kiosk.config import BadgeHost
from kiosk.contacts.badges import read_badge_url
from kiosk.contacts.draft import Draft
from kiosk.contacts.escapes import unescape
from kiosk.contacts.mecard import fields

MAX_URL_LENGTH = 2048

# A URI scheme (RFC 3986 section 3.1) and its colon, unless the colon starts a port
# number, as in "card.example.com:8080/jane", which has no scheme.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


def split_web_url(text: str) -> SplitResult | None:
    """Return the parts of an http(s) URL, or ``None`` when the text is not one.

    The text must be a single token: a URL followed by words is plain text.
    """
    if len(text) > MAX_URL_LENGTH or any(char.isspace() for char in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def read_url(text: str, hosts: Sequence[BadgeHost]) -> Draft | None:
    """Read an http(s) URL: a badge on a registration host, else a business card."""
    url = text.strip()
    parts = split_web_url(url)
    if parts is None:
        return None
    badge = read_badge_url(url, parts, hosts)
    if badge is not None:
        return badge
    return Draft(source_format="business-card-url", profile_url=url, needs_lookup=True)


def read_mebkm(body: str) -> Draft | None:
    """Read a MEBKM bookmark (``MEBKM:TITLE:...;URL:...;;``) as a business card URL."""
    for key, raw in fields(body):
        if key != "URL":
            continue
        url = unescape(raw).strip()
        if _SCHEME.match(url) is None:
            url = "http://" + url
        # A URL with any scheme but http(s) (javascript:, mailto:, ftp:) is no card.
        if split_web_url(url) is not None:
            return Draft(source_format="mebkm", profile_url=url, needs_lookup=True)
    return None
