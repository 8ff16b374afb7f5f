"""Declarative field mapping from the kiosk's lead fields to a CRM's contact fields.

A mapping is a TOML file in ``resources/mappings/`` with three tables: ``[fields]``
(our field -> CRM field), ``[constants]`` (CRM field -> value sent with every contact)
and ``[transforms]`` (our field -> transform name). Fields it does not name stay local.
"""

from __future__ import annotations

import tomllib
from collections import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import resources

# The keys of a lead snapshot written by the kiosk's store: the contact fields, the
# address, and what the operator adds at the booth.
LEAD_FIELDS = frozenset(
    {
        "first_name", "last_name", "middle_name", "prefix", "suffix", "nickname",
        "email", "other_emails", "phone", "phone_ext", "other_phones", "fax",
        "company", "department", "title", "website", "linkedin_url", "address",
        "notes", "badge_id", "event_code", "profile_url", "needs_lookup",
        "source_format", "rating", "consent_at", "consent_version", "answers",
        "event",
    }
)  # fmt: skip


class MappingError(ValueError):
    """A mapping file is invalid, or a lead value cannot be mapped."""


def _text_transform(function: Callable[[str], str]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if not isinstance(value, str):
            raise MappingError(f"expected text, got {type(value).__name__}")
        return function(value)

    return apply


TRANSFORMS: abc.Mapping[str, Callable[[Any], Any]] = MappingProxyType(
    {
        "strip": _text_transform(str.strip),
        "lower": _text_transform(lambda text: text.strip().lower()),
        "upper": _text_transform(lambda text: text.strip().upper()),
        "title": _text_transform(lambda text: text.strip().title()),
        "collapse_spaces": _text_transform(lambda text: " ".join(text.split())),
    }
)


@dataclass(frozen=True)
class FieldMapping:
    """A loaded mapping, ready to turn lead snapshots into CRM contacts."""

    name: str
    crm_name: str
    fields: abc.Mapping[str, str]
    constants: abc.Mapping[str, Any] = field(default_factory=dict)
    transforms: abc.Mapping[str, str] = field(default_factory=dict)

    def apply(self, snapshot: abc.Mapping[str, Any]) -> dict[str, Any]:
        """Return the CRM contact for one lead snapshot.

        Empty values (None, "", empty lists and objects) are left out.

        Raises:
            MappingError: a value does not suit its transform; the message names our
                field but never its value.
        """
        contact: dict[str, Any] = {}
        for ours, theirs in self.fields.items():
            value = snapshot.get(ours)
            if _is_empty(value):
                continue
            transform = self.transforms.get(ours)
            if transform:
                try:
                    value = TRANSFORMS[transform](value)
                except MappingError as exc:
                    raise MappingError(f"field {ours}: {exc}") from None
            if isinstance(value, tuple):
                value = list(value)
            if not _is_empty(value):
                contact[theirs] = value
        contact.update(self.constants)
        return contact

    def our_field(self, crm_field: str) -> str | None:
        """Return our name of a CRM field, or None for constants and unknown names."""
        for ours, theirs in self.fields.items():
            if theirs == crm_field:
                return ours
        return None


def load_mapping(
    name: str = "acme", *, crm_fields: frozenset[str] | None = None
) -> FieldMapping:
    """Load ``resources/mappings/<name>.toml``.

    Args:
        name: the mapping's file name without ``.toml``.
        crm_fields: the CRM's known contact fields; defaults to the connector's list
            for ``acme``; other names skip the CRM-side check when None.

    Raises:
        MappingError: the file is missing, not valid TOML, or names an unknown field,
            CRM field or transform.
    """
    try:
        text = resources.read_text(f"mappings/{name}.toml")
    except (FileNotFoundError, OSError) as exc:
        raise MappingError(
            f"Mapping {name!r} not found in resources/mappings ({exc})."
        ) from exc
    if crm_fields is None and name == "acme":
        from sync_daemon.connectors.acme import CONTACT_FIELDS

        crm_fields = CONTACT_FIELDS
    return parse_mapping(text, name=name, crm_fields=crm_fields)


def parse_mapping(
    text: str, *, name: str = "mapping", crm_fields: frozenset[str] | None = None
) -> FieldMapping:
    """Parse and check the TOML text of a mapping (see :func:`load_mapping`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"Mapping {name!r} is not valid TOML: {exc}.") from exc
    _check_keys(data, {"crm", "fields", "constants", "transforms"}, name, "top level")
    fields = _string_table(data, "fields", name)
    constants = _table(data, "constants", name)
    transforms = _string_table(data, "transforms", name)
    crm = _table(data, "crm", name)

    _check_names(fields, LEAD_FIELDS, name, "[fields] names unknown lead field(s)")
    _check_names(transforms, set(fields), name, "[transforms] names unmapped field(s)")
    unknown = sorted(set(transforms.values()) - set(TRANSFORMS))
    if unknown:
        raise MappingError(
            f"Mapping {name!r}: unknown transform(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(TRANSFORMS))}."
        )
    if crm_fields is not None:
        targets = {value: value for value in [*fields.values(), *constants]}
        _check_names(targets, crm_fields, name, "names unknown CRM field(s)")
    return FieldMapping(
        name=name,
        crm_name=str(crm.get("name", name)),
        fields=MappingProxyType(fields),
        constants=MappingProxyType(constants),
        transforms=MappingProxyType(transforms),
    )


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == () or value == {}


def _table(data: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"Mapping {name!r}: [{key}] must be a table.")
    return value


def _string_table(data: dict[str, Any], key: str, name: str) -> dict[str, str]:
    table = _table(data, key, name)
    for ours, value in table.items():
        if not isinstance(value, str) or not value:
            raise MappingError(
                f"Mapping {name!r}: [{key}] {ours} must be a non-empty string."
            )
    return dict(table)


def _check_keys(data: dict[str, Any], known: set[str], name: str, where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise MappingError(
            f"Mapping {name!r}: unknown key(s) {', '.join(unknown)} at {where}; "
            f"accepted: {', '.join(sorted(known))}."
        )


def _check_names(
    table: abc.Mapping[str, Any], known: set[str] | frozenset[str], name: str, what: str
) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise MappingError(
            f"Mapping {name!r} {what}: {', '.join(unknown)}. "
            f"Accepted: {', '.join(sorted(known))}."
        )


Mapping = FieldMapping
"""The name other modules know the loaded mapping by."""
