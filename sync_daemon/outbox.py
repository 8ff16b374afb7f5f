"""The outbox: one row per lead revision waiting for, or done with, the CRM.

States::

    pending -> in_flight (lease_until, attempt) -> synced (crm_id)
    in_flight -> retry_wait (next_attempt_at, last_error)   transient failure
    in_flight -> needs_attention (last_error)                the CRM rejected the lead
    in_flight with an expired lease                          -> pending
    pending, retry_wait, needs_attention -> superseded       a newer revision exists

The kiosk's store writes rows with :func:`enqueue` inside its own transaction; the sync
engine works on them through :class:`Outbox`. Rows are never deleted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    update,
)

from sync_daemon.db import BEGIN_OPTION, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version_outbox"

PENDING = "pending"
IN_FLIGHT = "in_flight"
SYNCED = "synced"
RETRY_WAIT = "retry_wait"
NEEDS_ATTENTION = "needs_attention"
SUPERSEDED = "superseded"
STATES = (PENDING, IN_FLIGHT, SYNCED, RETRY_WAIT, NEEDS_ATTENTION, SUPERSEDED)

metadata = MetaData()

outbox_table = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(36), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("snapshot", Text, nullable=False),
    Column("state", String(20), nullable=False, default=PENDING),
    Column("attempt", Integer, nullable=False, default=0),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_token", String(36), nullable=True),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("crm_id", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("synced_at", UTCDateTime(), nullable=True),
    Index("ix_outbox_state_next_attempt", "state", "next_attempt_at"),
    Index("ix_outbox_lead_revision", "lead_id", "revision"),
)

SENDABLE = (PENDING, RETRY_WAIT)
WAITING = (PENDING, IN_FLIGHT, RETRY_WAIT)


@dataclass(frozen=True)
class OutboxRow:
    """A claimed outbox row, detached from the database."""

    id: int
    lead_id: str
    revision: int
    idempotency_key: str
    snapshot: dict[str, Any]
    attempt: int
    lease_token: str


@dataclass(frozen=True)
class QueueStats:
    """Row counts by state and the times that matter to the staff panel."""

    pending: int = 0
    in_flight: int = 0
    retry_wait: int = 0
    needs_attention: int = 0
    synced: int = 0
    oldest_waiting_at: datetime | None = None
    next_attempt_at: datetime | None = None
    superseded: int = 0

    @property
    def waiting(self) -> int:
        """Rows that still have to reach the CRM."""
        return self.pending + self.in_flight + self.retry_wait


@dataclass(frozen=True)
class LeadSyncState:
    """Sync state of the latest revision of one lead."""

    lead_id: str
    revision: int
    state: str
    crm_id: str | None
    last_error: str
    synced_at: datetime | None


def idempotency_key(lead_id: str, revision: int) -> str:
    """Return the key the CRM de-duplicates retries by: ``<lead uuid>:<revision>``."""
    return f"{lead_id}:{revision}"


def migrate(engine: Engine) -> None:
    """Apply the outbox migrations (alembic, version table ``alembic_version_outbox``).

    Safe to call from several processes at start: on SQLite each upgrade runs in one
    ``BEGIN IMMEDIATE`` transaction when the engine comes from
    :func:`sync_daemon.db.create_db_engine`. A database already at the newest
    revision is only read, so another writer's lock does not delay the start.
    """
    config = _alembic_config()
    if is_migrated(engine):
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_migrated(engine: Engine) -> bool:
    """Is the outbox at the newest migration? Reads only, in a deferred transaction."""
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with (
        engine.connect().execution_options(**{BEGIN_OPTION: "DEFERRED"}) as connection,
        connection.begin(),
    ):
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        )
        return set(context.get_current_heads()) == heads


def _alembic_config() -> AlembicConfig:
    script_location = resources.files("sync_daemon") / "migrations"
    config = AlembicConfig()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def enqueue(
    connection: Connection, lead_id: str, revision: int, snapshot: Mapping[str, Any]
) -> int:
    """Insert the outbox row of one lead revision in the caller's open transaction.

    Older revisions of the lead that have not been sent yet are marked superseded, so
    only the newest one goes to the CRM.

    Returns:
        The new row's id.
    """
    now = utcnow()
    _supersede_older(connection, lead_id, revision, now)
    result = connection.execute(
        insert(outbox_table).values(pending_row(lead_id, revision, snapshot, now))
    )
    row_id = result.inserted_primary_key
    assert row_id is not None
    return int(row_id[0])


def _supersede_older(
    connection: Connection, lead_id: str, revision: int, now: datetime
) -> None:
    t = outbox_table
    connection.execute(
        update(t)
        .where(
            t.c.lead_id == lead_id,
            t.c.revision < revision,
            t.c.state.in_(SUPERSEDABLE),
        )
        .values(
            state=SUPERSEDED,
            last_error=superseded_reason(revision),
            updated_at=now,
        )
    )


SUPERSEDABLE = (PENDING, RETRY_WAIT, NEEDS_ATTENTION)
"""States of an unsent row that a newer revision of its lead supersedes."""


def pending_row(
    lead_id: str, revision: int, snapshot: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Return the column values of a new pending outbox row for one lead revision.

    :func:`enqueue` inserts this row, and bulk writers in the kiosk's store insert
    many of them with one statement.
    """
    return {
        "lead_id": lead_id,
        "revision": revision,
        "idempotency_key": idempotency_key(lead_id, revision),
        "snapshot": json.dumps(dict(snapshot), sort_keys=True, ensure_ascii=False),
        "state": PENDING,
        "attempt": 0,
        "last_error": "",
        "created_at": now,
        "updated_at": now,
    }


def superseded_reason(revision: int) -> str:
    """Return the ``last_error`` of a row superseded by ``revision`` of its lead."""
    return f"superseded by revision {revision}"


def has_newer_revision(connection: Connection, lead_id: str, revision: int) -> bool:
    """Does the outbox hold a newer revision of this lead?"""
    t = outbox_table
    query = select(func.count()).where(t.c.lead_id == lead_id, t.c.revision > revision)
    return bool(connection.execute(query).scalar_one())


class Outbox:
    """The outbox state machine on one engine; safe to share between threads.

    Every method runs its own short transaction; none stays open across an HTTP call.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _reader(self) -> Connection:
        return self.engine.connect().execution_options(**{BEGIN_OPTION: "DEFERRED"})

    def release_expired_leases(self, now: datetime | None = None) -> int:
        """Return in-flight rows whose lease has ended (a crashed sender) to pending."""
        now = now or utcnow()
        with self.engine.begin() as connection:
            return _release_expired(connection, now)

    def claim_batch(
        self,
        limit: int,
        lease_s: float,
        *,
        now: datetime | None = None,
        email_of: Callable[[dict[str, Any]], str] | None = None,
    ) -> list[OutboxRow]:
        """Claim up to ``limit`` sendable rows under a lease, in one write transaction.

        A lead with a row already in flight is skipped, and so is a second lead with an
        email already in this batch (``email_of(snapshot)`` gives the key compared), so
        it goes in a later batch.
        """
        now = now or utcnow()
        token = str(uuid.uuid4())
        with self.engine.begin() as connection:
            _release_expired(connection, now)
            candidates = _select_candidates(connection, limit * 2 + 10, now)
            chosen = _pick_batch(candidates, limit, email_of)
            if not chosen:
                return []
            t = outbox_table
            connection.execute(
                update(t)
                .where(t.c.id.in_([row["id"] for row in chosen]))
                .values(
                    state=IN_FLIGHT,
                    attempt=t.c.attempt + 1,
                    lease_until=now + timedelta(seconds=lease_s),
                    lease_token=token,
                    updated_at=now,
                )
            )
        return [
            OutboxRow(
                id=row["id"],
                lead_id=row["lead_id"],
                revision=row["revision"],
                idempotency_key=row["idempotency_key"],
                snapshot=json.loads(row["snapshot"]),
                attempt=row["attempt"] + 1,
                lease_token=token,
            )
            for row in chosen
        ]

    def mark_synced(self, results: Iterable[tuple[int, str]]) -> None:
        """Record the CRM id of each ``(row id, crm id)`` that the CRM accepted.

        A synced result is recorded even when the lease has meanwhile passed to another
        sender, because the CRM holds the contact either way.
        """
        now = utcnow()
        t = outbox_table
        with self.engine.begin() as connection:
            for row_id, crm_id in results:
                connection.execute(
                    update(t)
                    .where(t.c.id == row_id)
                    .values(
                        state=SYNCED,
                        crm_id=crm_id,
                        last_error="",
                        lease_until=None,
                        lease_token=None,
                        next_attempt_at=None,
                        synced_at=now,
                        updated_at=now,
                    )
                )

    def mark_retry(self, rows: Iterable[tuple[OutboxRow, float]], reason: str) -> None:
        """Put each ``(row, delay in seconds)`` in retry_wait after a transient failure.

        A row that a newer revision has meanwhile replaced becomes superseded instead.
        """
        now = utcnow()
        with self.engine.begin() as connection:
            for row, delay_s in rows:
                values: dict[str, Any] = {
                    "state": RETRY_WAIT,
                    "next_attempt_at": now + timedelta(seconds=delay_s),
                    "last_error": reason,
                }
                if has_newer_revision(connection, row.lead_id, row.revision):
                    values = {"state": SUPERSEDED, "last_error": "superseded"}
                _update_own(connection, row, now, values)

    def mark_needs_attention(self, rows: Iterable[tuple[OutboxRow, str]]) -> None:
        """Park each ``(row, reason)`` that the CRM rejected until a person acts."""
        now = utcnow()
        with self.engine.begin() as connection:
            for row, reason in rows:
                values: dict[str, Any] = {
                    "state": NEEDS_ATTENTION,
                    "last_error": reason,
                }
                if has_newer_revision(connection, row.lead_id, row.revision):
                    values = {"state": SUPERSEDED, "last_error": "superseded"}
                _update_own(connection, row, now, values)

    def release(self, rows: Iterable[OutboxRow]) -> None:
        """Return claimed rows that were never sent to pending, attempt unchanged."""
        now = utcnow()
        t = outbox_table
        with self.engine.begin() as connection:
            for row in rows:
                values = {"state": PENDING, "attempt": t.c.attempt - 1}
                _update_own(connection, row, now, values)

    def make_due(self, now: datetime | None = None) -> int:
        """Make every retry_wait row sendable now (the CRM is reachable again)."""
        now = now or utcnow()
        t = outbox_table
        with self.engine.begin() as connection:
            result = connection.execute(
                update(t)
                .where(t.c.state == RETRY_WAIT, t.c.next_attempt_at > now)
                .values(next_attempt_at=now, updated_at=now)
            )
        return int(result.rowcount)

    def requeue(self, lead_ids: Iterable[str]) -> int:
        """Send the latest revision of each lead again (after a person fixed it).

        Returns:
            How many rows went back to pending.
        """
        now = utcnow()
        t = outbox_table
        ids = list(lead_ids)
        if not ids:
            return 0
        with self.engine.begin() as connection:
            latest = _latest_rows(connection, ids)
            targets = [
                row.id for row in latest if row.state in (NEEDS_ATTENTION, RETRY_WAIT)
            ]
            if not targets:
                return 0
            connection.execute(
                update(t)
                .where(t.c.id.in_(targets))
                .values(
                    state=PENDING,
                    attempt=0,
                    next_attempt_at=None,
                    last_error="",
                    updated_at=now,
                )
            )
        return len(targets)

    def queue_stats(self) -> QueueStats:
        """Count rows by state and find the oldest waiting row and the next retry."""
        t = outbox_table
        with self._reader() as connection, connection.begin():
            counts: dict[str, int] = dict(
                connection.execute(
                    select(t.c.state, func.count()).group_by(t.c.state)
                ).all()
            )
            oldest = connection.execute(
                select(func.min(t.c.created_at)).where(t.c.state.in_(WAITING))
            ).scalar_one()
            next_retry = connection.execute(
                select(func.min(t.c.next_attempt_at)).where(t.c.state == RETRY_WAIT)
            ).scalar_one()
        return QueueStats(
            pending=counts.get(PENDING, 0),
            in_flight=counts.get(IN_FLIGHT, 0),
            retry_wait=counts.get(RETRY_WAIT, 0),
            needs_attention=counts.get(NEEDS_ATTENTION, 0),
            synced=counts.get(SYNCED, 0),
            oldest_waiting_at=_as_utc(oldest),
            next_attempt_at=_as_utc(next_retry),
            superseded=counts.get(SUPERSEDED, 0),
        )

    def next_due_at(self) -> datetime | None:
        """Return when the next row becomes sendable (past times mean now), or None."""
        t = outbox_table
        with self._reader() as connection, connection.begin():
            if connection.execute(
                select(t.c.id).where(t.c.state == PENDING).limit(1)
            ).first():
                return utcnow()
            due = connection.execute(
                select(func.min(t.c.next_attempt_at)).where(t.c.state == RETRY_WAIT)
            ).scalar_one()
            lease = connection.execute(
                select(func.min(t.c.lease_until)).where(t.c.state == IN_FLIGHT)
            ).scalar_one()
        times = [_as_utc(value) for value in (due, lease) if value is not None]
        return min((time for time in times if time is not None), default=None)

    def latest_state_by_lead(self, lead_ids: Iterable[str]) -> dict[str, LeadSyncState]:
        """Return the state of each lead's newest revision, for leads in the outbox."""
        ids = list(lead_ids)
        result: dict[str, LeadSyncState] = {}
        with self._reader() as connection, connection.begin():
            for start in range(0, len(ids), 500):
                for row in _latest_rows(connection, ids[start : start + 500]):
                    result[row.lead_id] = LeadSyncState(
                        lead_id=row.lead_id,
                        revision=row.revision,
                        state=row.state,
                        crm_id=row.crm_id,
                        last_error=row.last_error,
                        synced_at=_as_utc(row.synced_at),
                    )
        return result

    def needs_attention(self) -> list[LeadSyncState]:
        """Return the rows that wait for a person, oldest first."""
        t = outbox_table
        query = select(t).where(t.c.state == NEEDS_ATTENTION).order_by(t.c.id)
        with self._reader() as connection, connection.begin():
            rows = connection.execute(query).all()
        return [
            LeadSyncState(
                row.lead_id,
                row.revision,
                row.state,
                row.crm_id,
                row.last_error,
                _as_utc(row.synced_at),
            )
            for row in rows
        ]


def _as_utc(value: datetime | None) -> datetime | None:
    # Aggregates such as MIN() bypass the column type, so SQLite returns naive UTC
    # datetimes (or strings) here.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _release_expired(connection: Connection, now: datetime) -> int:
    t = outbox_table
    result = connection.execute(
        update(t)
        .where(t.c.state == IN_FLIGHT, t.c.lease_until < now)
        .values(state=PENDING, lease_token=None, lease_until=None, updated_at=now)
    )
    if result.rowcount:
        logger.info(
            "Returned %d outbox rows with an expired lease to pending", result.rowcount
        )
    return int(result.rowcount)


def _select_candidates(
    connection: Connection, limit: int, now: datetime
) -> Sequence[Any]:
    t = outbox_table
    in_flight = t.alias("in_flight_rows")
    busy_lead = (
        select(in_flight.c.id)
        .where(in_flight.c.lead_id == t.c.lead_id, in_flight.c.state == IN_FLIGHT)
        .exists()
    )
    sendable = (t.c.state == PENDING) | and_(
        t.c.state == RETRY_WAIT, t.c.next_attempt_at <= now
    )
    # NOTE: on PostgreSQL this select becomes FOR UPDATE SKIP LOCKED; SQLite ignores
    # the clause and relies on the BEGIN IMMEDIATE write lock instead.
    query = (
        select(t)
        .where(sendable, ~busy_lead)
        .order_by(t.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return connection.execute(query).mappings().all()


def _pick_batch(
    candidates: Sequence[Any],
    limit: int,
    email_of: Callable[[dict[str, Any]], str] | None,
) -> list[Any]:
    chosen: list[Any] = []
    leads: set[str] = set()
    emails: set[str] = set()
    for row in candidates:
        if row["lead_id"] in leads:
            continue
        email = ""
        if email_of is not None:
            email = email_of(json.loads(row["snapshot"]))
        if email and email in emails:
            continue
        chosen.append(row)
        leads.add(row["lead_id"])
        if email:
            emails.add(email)
        if len(chosen) >= limit:
            break
    return chosen


def _latest_rows(connection: Connection, lead_ids: list[str]) -> Sequence[Any]:
    t = outbox_table
    newest = (
        select(t.c.lead_id, func.max(t.c.revision).label("revision"))
        .where(t.c.lead_id.in_(lead_ids))
        .group_by(t.c.lead_id)
        .subquery()
    )
    query = select(t).join(
        newest,
        and_(t.c.lead_id == newest.c.lead_id, t.c.revision == newest.c.revision),
    )
    return connection.execute(query).all()


def _update_own(
    connection: Connection, row: OutboxRow, now: datetime, values: dict[str, Any]
) -> None:
    # Only the holder of the lease may move an in-flight row. A sender whose lease
    # ran out leaves the row to the sender that claimed it since.
    t = outbox_table
    connection.execute(
        update(t)
        .where(t.c.id == row.id, t.c.lease_token == row.lease_token)
        .values(lease_until=None, lease_token=None, updated_at=now, **values)
    )
