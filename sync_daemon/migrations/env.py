"""Alembic environment for the outbox, run by :func:`sync_daemon.outbox.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sync_daemon.outbox import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "Run the outbox migrations through sync_daemon.outbox.migrate(engine)."
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
