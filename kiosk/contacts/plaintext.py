"""Free text: an email or a phone found in it fills those fields, nothing else."""

from __future__ import annotations

from kiosk.contacts.draft import Draft
from kiosk.contacts.normalize import find_phones, normalize_email

MAX_EMAIL_CANDIDATES = 20
_TRIM = "<>()[]{}\"'.,;:!?"


def read_plain_text(text: str, region: str) -> Draft | None:
    """Find emails and phone numbers in free text.

    Returns:
        A draft with only emails and phones, or ``None`` when the text contains
        neither.
    """
    draft = Draft(source_format="plain-text")
    draft.emails = _find_emails(text)
    draft.phones = [(number, "") for number in find_phones(text, region)]
    if not (draft.emails or draft.phones):
        return None
    return draft


def _find_emails(text: str) -> list[str]:
    candidates = [token.strip(_TRIM) for token in text.split() if "@" in token]
    emails = []
    for candidate in candidates[:MAX_EMAIL_CANDIDATES]:
        if candidate[:7].lower() == "mailto:":
            candidate = candidate[7:]
        if normalize_email(candidate) is not None:
            emails.append(candidate)
    return emails
