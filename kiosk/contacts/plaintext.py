"""Free text: an email or a phone found in it fills those fields, nothing else."""

from __future__ import annotations

import re

from kiosk.contacts.draft import Draft
from kiosk.contacts.normalize import find_phones, normalize_email

MAX_EMAIL_CANDIDATES = 20
# Characters that end an email address in free text: "Email:jo@example.com",
# "<jo@example.com>", "jo@example.com, or call". Splitting on them is linear in the
# text length, where a regular expression searching for addresses could backtrack.
_EMAIL_BOUNDARY = re.compile(r"[\s<>()\[\]{}\"',;:|]+")
_TRAILING = ".!?"


def read_plain_text(text: str, region: str) -> Draft | None:
    """Find emails and phone numbers in free text.

    Returns:
        A draft with only emails and phones, or ``None`` when the text contains
        neither.
    """
    draft = Draft(source_format="plain-text")
    draft.emails = find_emails(text)
    draft.phones = find_phones(text, region)
    if not (draft.emails or draft.phones):
        return None
    return draft


def find_emails(text: str) -> list[str]:
    """Return the valid email addresses in free text, in text order."""
    candidates = [
        token.rstrip(_TRAILING) for token in _EMAIL_BOUNDARY.split(text) if "@" in token
    ]
    emails = []
    for candidate in candidates[:MAX_EMAIL_CANDIDATES]:
        if normalize_email(candidate) is not None:
            emails.append(candidate)
    return emails
