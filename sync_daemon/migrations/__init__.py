"""Alembic migrations of the outbox table (version table ``alembic_version_outbox``)."""
