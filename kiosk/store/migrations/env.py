"""Alembic environment of the kiosk's tables.

:func:`kiosk.store.engine.migrate_leads` runs it with an open connection in
``config.attributes["connection"]``; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kiosk.store.models import Base

VERSION_TABLE = "alembic_version_kiosk"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run the kiosk's migrations through kiosk.store.open_store(), "
        "which passes the connection."
    )
_run(connection)
