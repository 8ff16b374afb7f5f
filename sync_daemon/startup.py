"""Opening the kiosk's database for ``kiosk-sync``: checks, migrations, lock waits.

The kiosk creates its database when it first starts, so kiosk-sync only opens one
that exists and already contains the outbox. That keeps a typing error in ``--db``
from creating an empty database and reporting every lead as synced.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    NoSuchModuleError,
    OperationalError,
)

from sync_daemon.db import BEGIN_OPTION, create_db_engine
from sync_daemon.outbox import VERSION_TABLE, migrate
from sync_daemon.urls import redact_url

logger = logging.getLogger(__name__)

LOCK_RETRY_S = 0.5
"""Pause between two tries while another writer has the database locked."""
KIOSK_TABLES = (VERSION_TABLE, "alembic_version_kiosk")
"""Tables of which a kiosk database has at least one (outbox or lead migrations)."""


class StartupError(Exception):
    """The database cannot be used; the message states why and what to check."""


class DatabaseLocked(StartupError):
    """Another writer held the database for the whole start-up wait."""


def open_database(url: str, *, given: bool) -> Engine:
    """Return an engine on the kiosk's existing database at ``url``.

    Args:
        url: the SQLAlchemy URL.
        given: the URL came from ``--db``; False when it is the default location,
            which changes the advice in the message.

    Raises:
        StartupError: the URL is invalid, names no existing SQLite file, or names a
            dialect whose driver is not installed.
    """
    safe_url = redact_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartupError(
            f"--db {safe_url!r} is not a database URL; give one such as "
            "sqlite:////var/lib/kiosk/leads.sqlite3 (four slashes before an "
            "absolute path)."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed, given=given)
    try:
        return create_db_engine(url, create_file=False)
    except (NoSuchModuleError, ImportError) as exc:
        raise StartupError(
            f"Cannot open --db {_render(parsed)}: {exc}. Check the URL's dialect and "
            "install its driver."
        ) from None


def prepare_database(engine: Engine, *, deadline: float, stop: threading.Event) -> bool:
    """Check that ``engine`` is a kiosk database and apply the outbox migrations.

    While another writer has the database locked, it retries until ``deadline`` (a
    :func:`time.monotonic` time). Each try may itself wait up to SQLite's busy
    timeout (5 s), so the wait can end that much after ``deadline``.

    Returns:
        True when the database is ready; False when ``stop`` was set while waiting.

    Raises:
        DatabaseLocked: the database was still locked at ``deadline``.
        StartupError: it is not a SQLite database, holds no outbox, or cannot be
            opened.
    """
    safe_url = _render(engine.url)
    warned = False
    while not stop.is_set():
        try:
            _check_kiosk_tables(engine, safe_url)
            migrate(engine)
            return True
        except OperationalError as exc:
            if not _is_locked(exc):
                raise StartupError(
                    f"Cannot open the database {safe_url}: {exc.orig}. Check the path "
                    "and its permissions."
                ) from None
            if time.monotonic() >= deadline:
                raise DatabaseLocked(
                    f"The database {safe_url} stayed locked by another writer until "
                    "the start-up wait ended. Check for a process that keeps a write "
                    "transaction open."
                ) from None
            if not warned:
                logger.warning(
                    "Database %s is locked by another writer (%s); waiting for it",
                    safe_url,
                    exc.orig,
                )
                warned = True
            stop.wait(LOCK_RETRY_S)
        except DatabaseError as exc:
            raise StartupError(
                f"{safe_url} is not a usable SQLite database ({exc.orig}). Check --db: "
                "it must name the kiosk's database file."
            ) from None
    return False


def _check_sqlite_file(url: URL, *, given: bool) -> None:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise StartupError(
            "--db names an in-memory database, which contains no leads. Give the "
            "kiosk's database file, such as sqlite:////var/lib/kiosk/leads.sqlite3."
        )
    path = Path(database.removeprefix("file:").split("?", 1)[0])
    if path.is_dir():
        raise StartupError(
            f"--db names the folder {path}, not a database file. Give the kiosk's "
            "database file, such as sqlite:////var/lib/kiosk/leads.sqlite3."
        )
    if path.exists():
        _check_sqlite_tables(path)
        return
    if given:
        raise StartupError(
            f"Database not found: {path}. Check --db (an absolute path needs four "
            "slashes: sqlite:////path/leads.sqlite3). kiosk-sync works only on the "
            "kiosk's existing database; the kiosk creates it when it first starts."
        )
    raise StartupError(
        f"Database not found at the default location {path}. Start the kiosk once "
        "to create it, or give its database with --db."
    )


def _check_sqlite_tables(path: Path) -> None:
    """Reject a file that is not a kiosk database, reading it only.

    This runs before the engine's pragmas (WAL mode) could change the file. A lock
    or another error here is left to :func:`prepare_database`, which waits or
    reports it.
    """
    if path.stat().st_size == 0:
        raise StartupError(
            f"{path} is empty, so it is not a kiosk database. Check --db: it must "
            "name the database the kiosk writes its leads to."
        )
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    try:
        names = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
    except sqlite3.OperationalError:
        return
    except sqlite3.DatabaseError as exc:
        raise StartupError(
            f"{path} is not a usable SQLite database ({exc}). Check --db: it must "
            "name the kiosk's database file."
        ) from None
    finally:
        connection.close()
    if not names.intersection(KIOSK_TABLES):
        raise StartupError(
            f"{path} is not a kiosk database: it contains no outbox. Check --db: it "
            "must name the database the kiosk writes its leads to."
        )


def _check_kiosk_tables(engine: Engine, safe_url: str) -> None:
    reader = engine.connect().execution_options(**{BEGIN_OPTION: "DEFERRED"})
    with reader as connection, connection.begin():
        tables = set(inspect(connection).get_table_names())
    if not tables.intersection(KIOSK_TABLES):
        raise StartupError(
            f"{safe_url} is not a kiosk database: it contains no outbox. Check "
            "--db: it must name the database the kiosk writes its leads to."
        )


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=True)
