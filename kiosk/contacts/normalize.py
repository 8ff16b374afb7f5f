"""Normalisation of phones, emails and names, and the CRM length checks.

Phones become E.164 with phonenumbers, emails are checked with email-validator without
network look-ups, and names are re-cased only when they arrived all upper or all lower
case. Nothing here logs or returns the visitor's data inside a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

from kiosk.contacts.model import FieldWarning

DEFAULT_REGION = "US"

# AcmeCRM rejects longer values; the operator is warned instead of the value being cut.
CRM_LIMITS: dict[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "middle_name": 100,
    "phone": 20,
    "company": 200,
    "title": 150,
    "notes": 10_000,
}

MAX_FULL_NAME = 256
_MAX_PARENTHESES_DEPTH = 4
_PARENTHESISED = re.compile(r"\([^()]*\)")

# Maximum text lengths handed to phonenumbers and email-validator. Longer values are
# invalid without being parsed.
_MAX_PHONE_TEXT = 64
_MAX_EMAIL_TEXT = 320

# An extension at the end of a number: "x12", "ext. 12", "extension 12", "#12".
_EXTENSION = re.compile(
    r"[\s,;]*(?:ext\.?|extn\.?|extension|x|#)\s*(\d{1,10})\s*$", re.IGNORECASE
)
# The same marker with no digits after it, which phonenumbers would read as digits.
_EMPTY_EXTENSION = re.compile(
    r"[\s,;]*(?:ext\.?|extn\.?|extension|x|#)\s*$", re.IGNORECASE
)

_NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "das", "dos", "di",
     "du", "la", "le", "ter", "ten", "bin", "ibn", "al", "el"}
)  # fmt: skip


@dataclass(frozen=True)
class Phone:
    """A phone number as E.164 (or the trimmed input when it cannot be parsed).

    Attributes:
        number: ``+14155550132``; the trimmed input when phonenumbers cannot parse it
            or finds it too short or too long for its region.
        extension: digits of the extension, ``""`` when there is none.
        valid: whether phonenumbers' metadata lists the number as valid.
    """

    number: str
    extension: str
    valid: bool


def region_or_default(region: str | None) -> str:
    """Return the configured default region in upper case, or US when unset."""
    if region and region.strip():
        return region.strip().upper()
    return DEFAULT_REGION


def normalize_phone(text: str, region: str, extension: str = "") -> Phone | None:
    """Normalise one phone number to E.164 with its extension kept apart.

    Args:
        text: the number as written, with or without separators and an extension.
        region: the ISO 3166 region for numbers written without a country code.
        extension: an extension already known (from a ``tel:`` URI's ``ext``).

    Returns:
        The phone, or ``None`` when the text contains no digit at all.
    """
    text = text.strip()
    if not any(char.isdigit() for char in text):
        return None
    if len(text) > _MAX_PHONE_TEXT:
        return Phone(text, extension, valid=False)
    text, written_extension = split_extension(text)
    extension = extension or written_extension
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return Phone(text.strip(), extension, valid=False)
    if not phonenumbers.is_possible_number(parsed):
        return Phone(text.strip(), extension, valid=False)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    valid = phonenumbers.is_valid_number(parsed)
    return Phone(e164, extension or (parsed.extension or ""), valid=valid)


def split_extension(text: str) -> tuple[str, str]:
    """Split "+1 201 555 0123 x12" into the number and the extension digits.

    A marker with no digits after it ("ext.") is dropped, because phonenumbers would
    read its letters as digits. The extension is ``""`` when there is none.
    """
    match = _EXTENSION.search(text)
    if match:
        return text[: match.start()], match.group(1)
    return _EMPTY_EXTENSION.sub("", text), ""


def find_phones(text: str, region: str, limit: int = 5) -> list[tuple[str, str]]:
    """Find valid phone numbers in free text.

    The matcher gives up after a fixed number of tries, so the work stays bounded.

    Returns:
        ``(E.164 number, extension)`` pairs in text order, the extension ``""`` when
        the text gives none ("+1 415 555 0132 x12" gives ``("+14155550132", "12")``).
    """
    found: list[tuple[str, str]] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.VALID, max_tries=50
    )
    for count, match in enumerate(matcher, start=1):
        number = phonenumbers.format_number(
            match.number, phonenumbers.PhoneNumberFormat.E164
        )
        phone = (number, match.number.extension or "")
        if phone not in found:
            found.append(phone)
        if count >= limit:
            break
    return found


def normalize_email(text: str) -> str | None:
    """Validate an email address and return it with its domain normalised.

    The domain is lower-cased and IDNA-normalised by email-validator; the local part
    keeps its case. No DNS look-up is made.

    Returns:
        The normalised address, or ``None`` when it is not a valid address.
    """
    text = text.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    if not text or len(text) > _MAX_EMAIL_TEXT:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except (EmailNotValidError, UnicodeError, ValueError):
        return None
    return f"{result.local_part}@{result.domain}"


def split_full_name(full_name: str) -> dict[str, str]:
    """Split a full name ("Dr. Priya K. Raman PhD") into its parts with nameparser.

    A name written "Last, First" is read that way too. Text in parentheses is
    dropped: in "Jane Doe (she/her)" or "Jane Doe (Acme Corp)" it is not a name, and
    nameparser would return it as the nickname. A nickname in quotes
    (``Robert "Bob" Smith``) is kept. A text longer than any real
    name (over 256 characters) is not split: it goes whole to ``last_name``, where
    the CRM length check flags it, and nameparser's cost stays bounded.
    """
    if len(full_name) > MAX_FULL_NAME:
        return {"last_name": full_name}
    name = HumanName(_without_parentheses(full_name))
    return {
        "prefix": name.title,
        "first_name": name.first,
        "middle_name": name.middle,
        "last_name": name.last,
        "suffix": name.suffix,
        "nickname": name.nickname,
    }


def _without_parentheses(full_name: str) -> str:
    text = full_name
    # Each pass removes the innermost pairs; names never nest deeper than this.
    for _ in range(_MAX_PARENTHESES_DEPTH):
        stripped = _PARENTHESISED.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split())


def fix_name_case(name: str) -> str:
    """Re-case a name that arrived all upper or all lower case; keep any other name.

    "MCDONALD" becomes "McDonald", "o'brien" "O'Brien", "VAN DER BERG" "van der Berg".
    """
    if not (name.isupper() or name.islower()):
        return name
    words = name.lower().split(" ")
    last_word = max((i for i, word in enumerate(words) if word), default=0)
    cased = []
    for index, word in enumerate(words):
        if word in _NAME_PARTICLES and index < last_word:
            cased.append(word)
        else:
            cased.append("-".join(_case_word(part) for part in word.split("-")))
    return " ".join(cased)


def _case_word(word: str) -> str:
    if "." in word:
        # Initials with dots: "J.R." stays "J.R.", "st.john" becomes "St.John".
        return ".".join(_case_part(part) for part in word.split("."))
    if _is_initials(word):
        return word.upper()
    return _case_part(word)


def _case_part(word: str) -> str:
    if len(word) > 2 and word.startswith("mc"):
        return "Mc" + word[2:].capitalize()
    if len(word) > 2 and word[1] in "'’" and word[0].isalpha():
        return word[0].upper() + word[1] + word[2:].capitalize()
    return word.capitalize()


def _is_initials(word: str) -> bool:
    # "JJ" or "TJ": two or three Latin letters without a vowel cannot be read as a
    # name, so they are initials. A surname such as NG keeps its capitals too.
    return (
        2 <= len(word) <= 3
        and word.isascii()
        and word.isalpha()
        and not any(char in "aeiouy" for char in word.lower())
    )


def length_warnings(values: dict[str, str]) -> list[FieldWarning]:
    """Return a ``too_long`` warning for each value over the CRM's limit."""
    warnings = []
    for field_name, limit in CRM_LIMITS.items():
        if len(values.get(field_name, "")) > limit:
            warnings.append(
                FieldWarning(
                    "too_long",
                    field_name,
                    f"Longer than the CRM accepts ({limit} characters); shorten it "
                    "before saving.",
                )
            )
    return warnings
