"""Alembic migrations of the kiosk's tables, version table alembic_version_kiosk.

There is no ``alembic.ini``: :func:`kiosk.store.engine.migrate_leads` configures alembic
in code. A new revision goes in ``versions/`` with the next number, and its
``down_revision`` names the previous one.
"""
