"""SQLite storage of AcmeCRM contacts, idempotency keys and counters.

Each call borrows a connection from a small pool and gives it back before it returns,
so no connection is used by two threads at once. The pool exists because closing the
last connection to a WAL database checkpoints and syncs it. With one connection per
call, an upsert took about 17 ms, measured on a busy 2-core machine where a pooled one
takes under 1 ms. Writes run in ``BEGIN IMMEDIATE`` transactions, which serialises
concurrent upserts of the same email or the same idempotency key.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acmecrm.validation import ValidatedContact

BUSY_TIMEOUT_MS = 15_000
# Idle connections kept for reuse; more are opened under load and closed afterwards.
POOL_SIZE = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    acme_id TEXT NOT NULL UNIQUE,
    email_key TEXT NOT NULL UNIQUE,
    company_key TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_company ON contacts (company_key);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value)
    VALUES ('created', 0), ('updated', 0), ('replayed', 0);
"""


@dataclass(frozen=True)
class UpsertResult:
    """The outcome of one upsert.

    Attributes:
        status: 201 created, 200 updated, or 422 for a reused idempotency key.
        body: The JSON response body (the stored one when ``replayed``).
        replayed: True when the response was replayed for a known idempotency key.
    """

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def acme_id(self) -> str | None:
        """The contact's AcmeCRM id, or None when nothing was stored."""
        value = self.body.get("acme_id")
        return value if isinstance(value, str) else None


KEY_REUSED_BODY: dict[str, Any] = {
    "error": "idempotency_key_reused",
    "message": "this Idempotency-Key was already used with a different body; "
    "send a new key for a changed contact",
}


def body_hash(fields: Mapping[str, Any]) -> str:
    """Return a stable hash of a request's contact fields."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Storage:
    """Contacts, idempotency keys and counters in one SQLite file.

    Args:
        db_path: The SQLite file; created with mode 0600 when missing.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        if str(db_path) in ("", ":memory:"):
            # Each pooled connection to ":memory:" would be a separate, empty database.
            raise ValueError("AcmeCRM needs a database file path, not an in-memory one")
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.db_path.exists():
            fd = os.open(self.db_path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue(POOL_SIZE)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def _open(self) -> sqlite3.Connection:
        # check_same_thread is off because pooled connections move between request
        # threads, but the pool hands each one to a single thread at a time.
        conn = sqlite3.connect(
            self.db_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        """Close the idle pooled connections; later calls open new ones."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def upsert(
        self, contact: ValidatedContact, idempotency_key: str = ""
    ) -> UpsertResult:
        """Create or update a contact by its case-folded email, once per key."""
        return self.upsert_many([(contact, idempotency_key)])[0]

    def upsert_many(
        self, items: list[tuple[ValidatedContact, str]]
    ) -> list[UpsertResult]:
        """Upsert several contacts in one transaction, in order."""
        with self._write() as conn:
            return [_upsert_one(conn, contact, key) for contact, key in items]

    def get(self, acme_id: str) -> dict[str, Any] | None:
        """Return one contact, or None when the id is unknown."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT acme_id, fields, created_at, updated_at FROM contacts"
                " WHERE acme_id = ?",
                (acme_id,),
            ).fetchone()
        return _contact_from_row(row) if row else None

    def list_page(
        self, *, limit: int, offset: int, company: str = "", email: str = ""
    ) -> tuple[list[dict[str, Any]], int]:
        """Return a page of contacts in creation order, and the total that match."""
        where, params = _filters(company, email)
        with self._connect() as conn:
            total = conn.execute(
                f"SELECT COUNT(*) FROM contacts{where}", params
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT acme_id, fields, created_at, updated_at FROM contacts"
                f"{where} ORDER BY seq LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_contact_from_row(row) for row in rows], int(total)

    def all_contacts(self) -> list[dict[str, Any]]:
        """Return every contact in creation order."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT acme_id, fields, created_at, updated_at FROM contacts"
                " ORDER BY seq"
            ).fetchall()
        return [_contact_from_row(row) for row in rows]

    def counters(self) -> dict[str, int]:
        """Return the contact count and the created, updated and replayed counts."""
        with self._connect() as conn:
            values = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            contacts = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        return {
            "contacts": int(contacts),
            "created": int(values.get("created", 0)),
            "updated": int(values.get("updated", 0)),
            "replayed": int(values.get("replayed", 0)),
        }


def _filters(company: str, email: str) -> tuple[str, tuple[str, ...]]:
    clauses: list[str] = []
    params: list[str] = []
    if company:
        clauses.append("company_key = ?")
        params.append(company.strip().casefold())
    if email:
        clauses.append("email_key = ?")
        params.append(email.strip().casefold())
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return where, tuple(params)


def _upsert_one(
    conn: sqlite3.Connection, contact: ValidatedContact, key: str
) -> UpsertResult:
    digest = body_hash(contact.fields)
    if key:
        stored = conn.execute(
            "SELECT body_hash, status, response FROM idempotency_keys WHERE key = ?",
            (key,),
        ).fetchone()
        if stored is not None:
            if stored[0] != digest:
                return UpsertResult(422, dict(KEY_REUSED_BODY))
            _bump(conn, "replayed")
            return UpsertResult(int(stored[1]), json.loads(stored[2]), replayed=True)

    result = _apply(conn, contact)
    if key:
        conn.execute(
            "INSERT INTO idempotency_keys"
            " (key, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?)",
            (key, digest, result.status, json.dumps(result.body), _now()),
        )
    return result


def _apply(conn: sqlite3.Connection, contact: ValidatedContact) -> UpsertResult:
    now = _now()
    row = conn.execute(
        "SELECT acme_id, fields, created_at FROM contacts WHERE email_key = ?",
        (contact.email_key,),
    ).fetchone()
    if row is None:
        acme_id = "acm_" + uuid.uuid4().hex
        fields = dict(contact.fields)
        created_at = now
        conn.execute(
            "INSERT INTO contacts"
            " (acme_id, email_key, company_key, fields, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                acme_id,
                contact.email_key,
                _company_key(fields),
                json.dumps(fields),
                now,
                now,
            ),
        )
        _bump(conn, "created")
        status = 201
    else:
        acme_id, old_fields, created_at = row
        # An update merges: fields the request leaves out keep their stored values.
        fields = {**json.loads(old_fields), **contact.fields}
        conn.execute(
            "UPDATE contacts SET fields = ?, company_key = ?, updated_at = ?"
            " WHERE acme_id = ?",
            (json.dumps(fields), _company_key(fields), now, acme_id),
        )
        _bump(conn, "updated")
        status = 200
    body = {
        "acme_id": acme_id,
        "created": status == 201,
        "contact": _contact(acme_id, fields, created_at, now),
    }
    return UpsertResult(status, body)


def _company_key(fields: Mapping[str, Any]) -> str:
    return str(fields.get("acme_company", "")).strip().casefold()


def _bump(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (name,))


def _contact(
    acme_id: str, fields: Mapping[str, Any], created_at: str, updated_at: str
) -> dict[str, Any]:
    return {
        "acme_id": acme_id,
        **fields,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def _contact_from_row(row: tuple[str, str, str, str]) -> dict[str, Any]:
    acme_id, fields, created_at, updated_at = row
    return _contact(acme_id, json.loads(fields), created_at, updated_at)
