"""New revisions of stored leads, and merges of many changes in one transaction.

A change merges into the lead of the same visitor, found like a scan finds one: by
lead id, else by case-folded email, else by badge id. A merged lead gets a new
revision only when a change altered a value, and a change holds only the values to
set, so an empty value never clears one. Changes without a match become new leads.

``LeadStore.save_lead`` and ``LeadStore.save_revisions`` both write revisions
through :func:`write_revisions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from kiosk.store import fields as lead_fields
from kiosk.store.batch import NewLead, insert_new_leads, lead_columns
from kiosk.store.models import Lead
from sync_daemon import outbox
from sync_daemon.db import utcnow

LOOKUP_CHUNK = 500
"""Keys a lookup query binds at most, well under SQLite's limit on bound parameters."""


@dataclass(frozen=True)
class LeadChange:
    """Values to merge into a visitor's lead, or to save as a new lead.

    Attributes:
        fields: the values to set, by lead field name; leave out what stays as is.
        lead_id: the id of the lead to merge into, when known (an export's column);
            ``""`` finds the lead by email, then badge id.
        captured_at: the capture time of a new lead; None means now.
    """

    fields: Mapping[str, Any]
    lead_id: str = ""
    captured_at: datetime | None = None

    @property
    def email_key(self) -> str:
        """The case-folded email that finds the visitor's lead, or ``""``."""
        return lead_fields.email_key(str(self.fields.get("email", "")))

    @property
    def badge_id(self) -> str:
        """The badge id that finds the visitor's lead, or ``""``."""
        return str(self.fields.get("badge_id", "")).strip()


@dataclass(frozen=True)
class RevisionReport:
    """The outcome of :meth:`kiosk.store.LeadStore.save_revisions`, in changes.

    Attributes:
        created: changes that became a new lead.
        updated: changes that altered a stored lead or one created earlier in the call.
        unchanged: changes whose lead already held every value they contain.
    """

    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class Revision:
    """A new revision of a stored lead: its number, full fields and payload key."""

    lead_id: str
    revision: int
    fields: dict[str, Any]
    payload_key: str


@dataclass(frozen=True)
class StoredLead:
    """A lead as stored, read inside the transaction that writes its next revision."""

    lead_id: str
    revision: int
    fields: dict[str, Any]
    payload_key: str
    captured_at: datetime


_STORED_COLUMNS = (
    Lead.id,
    Lead.revision,
    Lead.fields,
    Lead.payload_key,
    Lead.captured_at,
)


def read_stored_lead(connection: Connection, lead_id: str) -> StoredLead | None:
    """Return the stored lead with this id, or None."""
    query = select(*_STORED_COLUMNS).where(Lead.id == lead_id)
    row = connection.execute(query).first()
    return None if row is None else _stored(row)


def write_revisions(connection: Connection, revisions: Sequence[Revision]) -> list[int]:
    """Write new revisions of stored leads with their outbox rows.

    Runs in the caller's transaction, one statement a table for all the revisions.
    The lead rows take the new values, older unsent outbox rows of each lead are
    marked superseded (as :func:`sync_daemon.outbox.enqueue` does), and each
    revision gets a pending outbox row.

    Returns:
        The new outbox row ids, in the order of ``revisions``.
    """
    if not revisions:
        return []
    now = utcnow()
    leads = Lead.metadata.tables[Lead.__tablename__]
    connection.execute(
        update(leads).where(leads.c.id == bindparam("lead_key")),
        [
            {
                "lead_key": item.lead_id,
                "revision": item.revision,
                "updated_at": now,
                "payload_key": item.payload_key,
            }
            | lead_columns(item.fields)
            for item in revisions
        ],
    )
    _supersede_older(connection, revisions, now)
    table = outbox.outbox_table
    result = connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [
            outbox.pending_row(item.lead_id, item.revision, item.fields, now)
            for item in revisions
        ],
    )
    return [int(row_id) for row_id in result.scalars()]


def save_revisions(
    connection: Connection, changes: Sequence[LeadChange]
) -> RevisionReport:
    """Merge ``changes`` into their stored leads, or save them as new leads.

    Runs in the caller's write transaction, which looks the stored leads up too. A
    lead another writer committed before that transaction began is found, and a
    writer that comes later waits for the write lock until this one commits.

    Raises:
        ValueError: a change has an unknown field name or an invalid rating.
    """
    plan = _Plan(_find_stored_leads(connection, changes))
    for change in changes:
        target = plan.target_for(change)
        if target is None:
            plan.add_new(change)
        else:
            plan.merge(target, change)
    counts = _Counts()
    for target in plan.targets:
        target.count(counts)
    new_leads = [
        NewLead(fields=target.fields, captured_at=target.captured_at)
        for target in plan.targets
        if target.stored is None
    ]
    insert_new_leads(connection, new_leads)
    write_revisions(connection, plan.revisions())
    return RevisionReport(counts.created, counts.updated, counts.unchanged)


def _supersede_older(
    connection: Connection, revisions: Sequence[Revision], now: datetime
) -> None:
    table = outbox.outbox_table
    connection.execute(
        update(table)
        .where(
            table.c.lead_id == bindparam("lead_key"),
            table.c.revision < bindparam("new_revision"),
            # An expanding IN cannot be part of an executemany statement.
            or_(*(table.c.state == state for state in outbox.SUPERSEDABLE)),
        )
        .values(
            state=outbox.SUPERSEDED, last_error=bindparam("reason"), updated_at=now
        ),
        [
            {
                "lead_key": item.lead_id,
                "new_revision": item.revision,
                "reason": outbox.superseded_reason(item.revision),
            }
            for item in revisions
        ],
    )


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _StoredLeads:
    """The stored leads a call's changes can merge into, by each merge key."""

    by_id: dict[str, StoredLead] = field(default_factory=dict)
    by_email: dict[str, StoredLead] = field(default_factory=dict)
    by_badge: dict[str, StoredLead] = field(default_factory=dict)


@dataclass
class _Target:
    """A lead a call writes: a new one (``stored`` None) or a stored one."""

    stored: StoredLead | None
    base: dict[str, Any]
    fields: dict[str, Any]
    captured_at: datetime | None = None
    merged_rows: int = 0
    changing_rows: int = 0

    def count(self, counts: _Counts) -> None:
        """Add this lead's changes to ``counts``, once every change is merged.

        A stored lead whose values end as they were counts each change unchanged,
        even where changes altered a value and later ones changed it back.
        """
        if self.stored is None:
            counts.created += 1
        elif self.fields == self.base:
            counts.unchanged += self.merged_rows
            return
        counts.updated += self.changing_rows
        counts.unchanged += self.merged_rows - self.changing_rows


@dataclass
class _Plan:
    """The leads one call saves, each findable by its merge keys."""

    stored: _StoredLeads
    targets: list[_Target] = field(default_factory=list)
    by_id: dict[str, _Target] = field(default_factory=dict)
    by_email: dict[str, _Target] = field(default_factory=dict)
    by_badge: dict[str, _Target] = field(default_factory=dict)

    def target_for(self, change: LeadChange) -> _Target | None:
        """Return the lead ``change`` merges into: by id, else email, else badge."""
        keys = (
            (change.lead_id, self.by_id, self.stored.by_id),
            (change.email_key, self.by_email, self.stored.by_email),
            (change.badge_id, self.by_badge, self.stored.by_badge),
        )
        for key, planned, stored in keys:
            if not key:
                continue
            if key in planned:
                return planned[key]
            if key in stored:
                return self._adopt(stored[key])
        return None

    def add_new(self, change: LeadChange) -> _Target:
        target = _Target(None, {}, dict(change.fields), change.captured_at)
        self.targets.append(target)
        self._register(target)
        return target

    def _adopt(self, lead: StoredLead) -> _Target:
        if lead.lead_id in self.by_id:
            return self.by_id[lead.lead_id]
        base = lead_fields.merge_fields(lead.fields, {})
        target = _Target(lead, base, dict(base))
        self.targets.append(target)
        self._register(target)
        return target

    def merge(self, target: _Target, change: LeadChange) -> None:
        """Merge the change's values into ``target``."""
        target.merged_rows += 1
        values = change.fields.items()
        if any(target.fields.get(name) != value for name, value in values):
            target.changing_rows += 1
        target.fields.update(change.fields)
        self._register(target)

    def revisions(self) -> list[Revision]:
        """Return a new revision of each stored lead whose values changed."""
        return [
            Revision(
                target.stored.lead_id,
                target.stored.revision + 1,
                lead_fields.merge_fields(target.fields, {}),
                target.stored.payload_key,
            )
            for target in self.targets
            if target.stored is not None and target.fields != target.base
        ]

    def _register(self, target: _Target) -> None:
        email_key = lead_fields.email_key(str(target.fields.get("email", "")))
        badge_id = str(target.fields.get("badge_id", "")).strip()
        if target.stored is not None:
            self.by_id.setdefault(target.stored.lead_id, target)
        if email_key:
            self.by_email.setdefault(email_key, target)
        if badge_id:
            self.by_badge.setdefault(badge_id, target)


def _find_stored_leads(
    connection: Connection, changes: Sequence[LeadChange]
) -> _StoredLeads:
    """Look up the stored leads the changes match, one query per key kind and chunk.

    Where several leads share an email or badge id, the newest one is kept, as
    :meth:`kiosk.store.LeadStore.find_duplicate` chooses.
    """
    found = _StoredLeads()
    lookups = (
        (Lead.id, {item.lead_id for item in changes if item.lead_id}, found.by_id),
        (
            Lead.email_key,
            {item.email_key for item in changes if item.email_key},
            found.by_email,
        ),
        (
            Lead.badge_id,
            {item.badge_id for item in changes if item.badge_id},
            found.by_badge,
        ),
    )
    for column, keys, by_key in lookups:
        for chunk in _chunks(sorted(keys), LOOKUP_CHUNK):
            for key, lead in _leads_with_keys(connection, column, chunk):
                by_key[key] = lead
    return found


def _leads_with_keys(
    connection: Connection, column: Any, keys: Sequence[str]
) -> Iterator[tuple[str, StoredLead]]:
    """Yield ``(key, lead)`` oldest first, so a newer lead overwrites an older one."""
    query = (
        select(column, *_STORED_COLUMNS)
        .where(column.in_(keys))
        .order_by(Lead.captured_at, Lead.id)
    )
    for row in connection.execute(query):
        yield str(row[0]), _stored(row[1:])


def _stored(row: Sequence[Any]) -> StoredLead:
    lead_id, revision, fields, payload_key, captured_at = row
    return StoredLead(
        str(lead_id), int(revision), dict(fields), str(payload_key), captured_at
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
