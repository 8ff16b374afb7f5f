"""Add a covering index for searching the lead list.

A substring search scans every ``search_key``; with this index SQLite scans the index
(about a tenth of the table, which also holds the JSON snapshot) instead of the table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leads_search_key", "leads", ["search_key", "captured_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_leads_search_key", table_name="leads")
