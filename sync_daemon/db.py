"""Database engine set-up shared by the outbox and, optionally, the kiosk's store.

SQLite is the embedded default. Each connection gets WAL, ``synchronous=FULL``, a busy
timeout and foreign keys. SQLAlchemy (not the sqlite3 module) emits ``BEGIN``, so that
a writer takes the write lock at the start of its transaction with ``BEGIN IMMEDIATE``.
Other databases get a plain engine.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for another writer before "database is locked"."""

BEGIN_OPTION = "sqlite_begin"
"""Execution option choosing how a SQLite transaction begins: ``"IMMEDIATE"`` (the
default, takes the write lock at once) or ``"DEFERRED"`` (for read-only work)."""


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def create_db_engine(url: str, *, create_file: bool = True, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; for SQLite, with the pragmas and locking above.

    A new SQLite file is created with mode 0600 (its parent folder too, if missing),
    because it contains visitors' contact details.

    Args:
        url: a SQLAlchemy URL such as ``sqlite:////var/lib/kiosk/leads.sqlite3``.
        create_file: create a missing SQLite file and folder as above; False leaves
            the file system alone (the caller has checked that the file exists).
        **kwargs: passed to :func:`sqlalchemy.create_engine`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    database = parsed.database or ""
    if create_file and database and database != ":memory:":
        if not database.startswith("file:"):
            _create_private_file(Path(database))
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(descriptor)


def _on_sqlite_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Stop the sqlite3 module from emitting its own deferred BEGIN; _on_sqlite_begin
    # emits ours. COMMIT and ROLLBACK still work as usual.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = str(connection.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE"))
    if mode.upper() not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
        raise ValueError(f"{BEGIN_OPTION} must be IMMEDIATE, DEFERRED or EXCLUSIVE")
    connection.exec_driver_sql(f"BEGIN {mode.upper()}")


def is_sqlite(engine: Engine) -> bool:
    """Is this engine connected to SQLite?"""
    return engine.dialect.name == "sqlite"
