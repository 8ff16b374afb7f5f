"""Redaction of credentials in URLs before they reach a message or a log."""

from __future__ import annotations

import re

# "scheme://userinfo@" where userinfo is "user" or "user:password". The user part of
# an SQLAlchemy or HTTP URL may contain "@" only percent-encoded, so the last "@"
# before the first "/" after the scheme ends it.
_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#]*)@"
)


def redact_url(url: str) -> str:
    """Return ``url`` with its user name, password and query replaced by ``***``.

    The query is hidden too because some services take an API key in it. Text that
    is not a URL comes back unchanged.
    """
    redacted = _USERINFO.sub(r"\g<scheme>***@", url.strip(), count=1)
    if "?" in redacted:
        redacted = redacted.split("?", 1)[0] + "?***"
    return redacted
