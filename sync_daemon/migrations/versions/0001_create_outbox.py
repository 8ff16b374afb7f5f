"""Create the outbox table.

Revision ID: outbox_0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "outbox_0001"
down_revision = None
branch_labels = ("outbox",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.String(36), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("lease_token", sa.String(36), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("crm_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("synced_at", sa.DateTime, nullable=True),
    )
    op.create_index(
        "ix_outbox_state_next_attempt", "outbox", ["state", "next_attempt_at"]
    )
    op.create_index("ix_outbox_lead_revision", "outbox", ["lead_id", "revision"])


def downgrade() -> None:
    op.drop_table("outbox")
