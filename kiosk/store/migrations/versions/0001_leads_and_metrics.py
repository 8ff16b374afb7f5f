"""Create the leads and metrics tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync_daemon.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("company", sa.String(300), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("badge_id", sa.String(200), nullable=False),
        sa.Column("payload_key", sa.String(64), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("consent_at", sa.String(40), nullable=False),
        sa.Column("consent_version", sa.String(100), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )
    op.create_index("ix_leads_captured_at_id", "leads", ["captured_at", "id"])
    op.create_index("ix_leads_email_key", "leads", ["email_key", "captured_at"])
    op.create_index("ix_leads_badge_id", "leads", ["badge_id", "captured_at"])
    op.create_index("ix_leads_payload_key", "leads", ["payload_key", "captured_at"])

    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
    )
    op.create_index("ix_metrics_kind_recorded_at", "metrics", ["kind", "recorded_at"])
    op.create_index("ix_metrics_recorded_at", "metrics", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("metrics")
    op.drop_table("leads")
