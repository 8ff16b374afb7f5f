"""SQLAlchemy models of the kiosk's own tables: leads and metrics.

The outbox table belongs to :mod:`sync_daemon.outbox`; a lead's sync state is read from
its latest outbox row, never copied here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sync_daemon.db import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the kiosk's tables, with its own metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Lead(Base):
    """One visitor's lead at its latest revision.

    The searchable and de-duplication fields are columns, and ``fields`` contains the
    whole snapshot (every name in :data:`kiosk.store.fields.LEAD_FIELDS`).
    """

    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    email_key: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    company: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    badge_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    payload_key: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    search_key: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rating: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    consent_at: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    consent_version: Mapped[str] = mapped_column(
        String(100), nullable=False, default=""
    )
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    __table_args__ = (
        Index("ix_leads_captured_at_id", "captured_at", "id"),
        Index("ix_leads_email_key", "email_key", "captured_at"),
        Index("ix_leads_badge_id", "badge_id", "captured_at"),
        Index("ix_leads_payload_key", "payload_key", "captured_at"),
        Index("ix_leads_search_key", "search_key", "captured_at", "id"),
    )


class Metric(Base):
    """One measurement: a latency in milliseconds or a sampled value (queue depth)."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (
        Index("ix_metrics_kind_recorded_at", "kind", "recorded_at"),
        Index("ix_metrics_recorded_at", "recorded_at"),
    )
