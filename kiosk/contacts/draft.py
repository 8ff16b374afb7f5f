"""The raw values a format reader collects, and their normalisation into a Contact.

Each format reader fills a :class:`Draft` with text as the payload wrote it (primary
values first). :func:`build_contact` then does what every format shares: phones to
E.164, email validation, name splitting and casing, and the CRM length warnings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import astuple, dataclass, field, replace

from kiosk.contacts.model import (
    UNRECOGNIZED_PAYLOAD,
    Address,
    Contact,
    FieldWarning,
    PayloadRejected,
)
from kiosk.contacts.normalize import (
    Phone,
    fix_name_case,
    length_warnings,
    normalize_email,
    normalize_phone,
    split_full_name,
)

UNRECOGNIZED_MESSAGE = (
    "This code holds text but no contact details. Enter them by hand."
)

_NAME_FIELDS = ("first_name", "middle_name", "last_name")

# Zero-width non-joiner and joiner: format characters that change how a name is spelt.
_KEPT_FORMAT = frozenset("\u200c\u200d")
_LINE_SEPARATORS = re.compile("\r\n|[\r\u2028\u2029]")
# Controls other than tab and LF, left after line separators became LF.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Maximum emails and phones read from one payload. Later ones are ignored, so a payload
# that repeats a property hundreds of times costs no more validation than ten.
MAX_VALUES = 10


@dataclass
class Draft:
    """Contact values as a payload wrote them, before normalisation.

    ``emails`` and ``phones`` list the primary value first. A phone is a pair of the
    number text and an extension already split off (``""`` when none).
    """

    source_format: str
    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    prefix: str = ""
    suffix: str = ""
    nickname: str = ""
    full_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)
    fax: str = ""
    company: str = ""
    department: list[str] = field(default_factory=list)
    title: str = ""
    website: str = ""
    linkedin_url: str = ""
    address: Address | None = None
    notes: str = ""
    badge_id: str = ""
    event_code: str = ""
    profile_url: str = ""
    needs_lookup: bool = False


def unrecognized() -> PayloadRejected:
    """Return the rejection for text that contains no contact details."""
    return PayloadRejected(UNRECOGNIZED_PAYLOAD, UNRECOGNIZED_MESSAGE)


def build_contact(draft: Draft, region: str) -> Contact:
    """Normalise a draft into a :class:`Contact`.

    Args:
        draft: the values a format reader collected.
        region: the default region for phone numbers without a country code.

    Raises:
        PayloadRejected: ``unrecognized_payload`` when nothing usable is left.
    """
    draft = _cleaned(draft)
    warnings: list[FieldWarning] = []
    names = _names(draft)
    email, other_emails = _emails(draft.emails, warnings)
    phone, other_phones = _phones(draft.phones, region, warnings)
    fax = _fax(draft.fax, region, warnings)
    contact = Contact(
        first_name=names["first_name"],
        last_name=names["last_name"],
        middle_name=names["middle_name"],
        prefix=names["prefix"],
        suffix=names["suffix"],
        nickname=names["nickname"],
        email=email,
        other_emails=tuple(other_emails),
        phone=phone.number if phone else "",
        phone_ext=phone.extension if phone else "",
        other_phones=tuple(other_phones),
        fax=fax,
        company=draft.company.strip(),
        department=tuple(d.strip() for d in draft.department if d.strip()),
        title=draft.title.strip(),
        website=draft.website.strip(),
        linkedin_url=draft.linkedin_url.strip(),
        address=_address(draft.address),
        notes=draft.notes.strip(),
        badge_id=draft.badge_id.strip(),
        event_code=draft.event_code.strip(),
        profile_url=draft.profile_url.strip(),
        needs_lookup=draft.needs_lookup,
        source_format=draft.source_format,
    )
    if not _has_content(contact):
        raise unrecognized()
    if contact.badge_id and not (
        contact.email or contact.first_name or contact.last_name
    ):
        # Only the event platform can resolve an id that comes without a name or email.
        contact = replace(contact, needs_lookup=True)
    values = {
        "phone": contact.phone,
        "company": contact.company,
        "title": contact.title,
    }
    values.update(names)
    warnings.extend(length_warnings(values))
    return replace(contact, warnings=tuple(warnings))


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Remove invisible and control characters from a field value.

    Format characters (Unicode category Cf) are removed, because bidi overrides such
    as U+202E show a field in a different order than it is stored and saved. ZWNJ
    and ZWJ stay, because Persian and Indic names and emoji sequences need them.
    Control characters and lone surrogates are removed too. A single-line value
    has each run of whitespace, line breaks included, made one space. A multi-line
    value keeps tabs and line breaks, with CR, CRLF, U+2028 and U+2029 made LF.
    """
    if not text.isascii():
        text = "".join(char for char in text if _is_kept(char))
    text = _ASCII_CONTROL.sub("", _LINE_SEPARATORS.sub("\n", text))
    if not multiline:
        return " ".join(text.split())
    return text.strip()


def _is_kept(char: str) -> bool:
    if char.isascii() or char in _KEPT_FORMAT:
        return True
    return unicodedata.category(char) not in ("Cf", "Cs", "Cc")


def _cleaned(draft: Draft) -> Draft:
    address = draft.address
    if address is not None:
        address = Address(*(clean_text(part) for part in astuple(address)))
    cleaned = replace(
        draft,
        emails=[clean_text(email) for email in draft.emails],
        phones=[(clean_text(num), clean_text(ext)) for num, ext in draft.phones],
        department=[clean_text(unit) for unit in draft.department],
        address=address,
    )
    for name, value in vars(draft).items():
        if isinstance(value, str) and name != "source_format":
            setattr(cleaned, name, clean_text(value, multiline=name == "notes"))
    return cleaned


def _names(draft: Draft) -> dict[str, str]:
    names = {
        "first_name": draft.first_name.strip(),
        "last_name": draft.last_name.strip(),
        "middle_name": draft.middle_name.strip(),
        "prefix": draft.prefix.strip(),
        "suffix": draft.suffix.strip(),
        "nickname": draft.nickname.strip(),
    }
    full_name = " ".join(draft.full_name.split())
    if full_name and not (names["first_name"] or names["last_name"]):
        for key, value in split_full_name(full_name).items():
            if value and not names[key]:
                names[key] = value
    for key in _NAME_FIELDS:
        names[key] = fix_name_case(names[key])
    return names


def _emails(raw: list[str], warnings: list[FieldWarning]) -> tuple[str, list[str]]:
    valid: list[str] = []
    invalid = False
    for text in raw[:MAX_VALUES]:
        if not text.strip():
            continue
        email = normalize_email(text)
        if email is None:
            invalid = True
        elif email.casefold() not in {known.casefold() for known in valid}:
            valid.append(email)
    if invalid:
        warnings.append(
            FieldWarning(
                "invalid_email",
                "email",
                "The code holds an email address that is not valid; ask the visitor "
                "and type it.",
            )
        )
    if not valid:
        return "", []
    return valid[0], valid[1:]


def _phones(
    raw: list[tuple[str, str]], region: str, warnings: list[FieldWarning]
) -> tuple[Phone | None, list[str]]:
    phones: list[Phone] = []
    for text, extension in raw[:MAX_VALUES]:
        phone = normalize_phone(text, region, extension)
        if phone is not None and phone not in phones:
            phones.append(phone)
    if any(not phone.valid for phone in phones):
        warnings.append(
            FieldWarning(
                "invalid_phone",
                "phone",
                "A phone number in the code is not a valid number; check it.",
            )
        )
    if not phones:
        return None, []
    others = [_phone_text(phone) for phone in phones[1:]]
    return phones[0], others


def _phone_text(phone: Phone) -> str:
    # Other phones carry their extension in the RFC 3966 parameter form.
    return f"{phone.number};ext={phone.extension}" if phone.extension else phone.number


def _fax(text: str, region: str, warnings: list[FieldWarning]) -> str:
    phone = normalize_phone(text, region) if text else None
    if phone is None:
        return ""
    if not phone.valid:
        warnings.append(
            FieldWarning(
                "invalid_phone",
                "fax",
                "The fax number in the code is not a valid number; check it.",
            )
        )
    return _phone_text(phone)


def _address(address: Address | None) -> Address | None:
    if address is None:
        return None
    stripped = Address(
        street=address.street.strip(),
        city=address.city.strip(),
        region=address.region.strip(),
        postal_code=address.postal_code.strip(),
        country=address.country.strip(),
    )
    return None if stripped.is_empty() else stripped


def _has_content(contact: Contact) -> bool:
    data = contact.to_json_dict()
    data.pop("source_format", None)
    data.pop("needs_lookup", None)
    return bool(data)
