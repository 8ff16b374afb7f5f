"""Alembic migrations of the kiosk's tables, version table alembic_version_kiosk."""
