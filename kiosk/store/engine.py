"""Engine set-up and migrations of the kiosk's database.

The engine comes from :func:`sync_daemon.db.create_db_engine`, so the kiosk and the
sync engine share one definition of the SQLite connection. Its connect event sets WAL,
``synchronous=FULL``, a busy timeout and foreign keys. Writers begin with
``BEGIN IMMEDIATE``, and a new database file is created with mode 0600. Any SQLite-only
SQL the store needs belongs in this module.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from importlib import resources

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine

from sync_daemon import outbox
from sync_daemon.db import BEGIN_OPTION, create_db_engine

logger = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version_kiosk"
_MIGRATION_LOCK = threading.Lock()


def create_store_engine(url: str) -> Engine:
    """Create the engine for ``url`` (SQLite pragmas and a 0600 file included)."""
    return create_db_engine(url)


def migrate_leads(engine: Engine) -> None:
    """Apply the kiosk's migrations (version table ``alembic_version_kiosk``).

    On SQLite the upgrade runs in one ``BEGIN IMMEDIATE`` transaction, so two processes
    starting at once apply it one after the other.
    """
    script_location = resources.files("kiosk.store") / "migrations"
    config = AlembicConfig()
    config.set_main_option("script_location", str(script_location))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def migrate_all(engine: Engine) -> None:
    """Apply the kiosk's migrations, then the outbox's.

    Alembic keeps the running migration in module-level state, so two threads must not
    migrate at once. A lock serialises them within the process, and the
    ``BEGIN IMMEDIATE`` transaction serialises processes.
    """
    with _MIGRATION_LOCK, _quiet_alembic():
        migrate_leads(engine)
        outbox.migrate(engine)
    logger.debug("Database schema is up to date")


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic logs several INFO lines on every run, even with nothing to upgrade. The
    # kiosk runs the migrations at every start, so keep only warnings and errors.
    alembic_logger = logging.getLogger("alembic")
    previous = alembic_logger.level
    if previous == logging.NOTSET:
        alembic_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_logger.setLevel(previous)


def read_only(connection: Connection) -> Connection:
    """Return ``connection`` set to begin its transactions without the write lock."""
    return connection.execution_options(**{BEGIN_OPTION: "DEFERRED"})
