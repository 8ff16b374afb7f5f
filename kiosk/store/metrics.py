"""Measured figures for the metrics panel, kept in the ``metrics`` table.

Each record is one measurement: a latency in milliseconds (scan to form, save commit, a
CRM request), or a sampled value such as the queue depth. Records are buffered and
written in one transaction at a time, so measuring never adds a disk sync of its own to
every save or request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from kiosk.store.leads import LeadStore
from kiosk.store.models import Metric
from sync_daemon.db import utcnow

logger = logging.getLogger(__name__)

SCAN_TO_FORM = "scan_to_form"
SAVE_COMMIT = "save_commit"
CRM_REQUEST = "crm_request"
QUEUE_DEPTH = "queue_depth"


@dataclass(frozen=True)
class _Pending:
    kind: str
    recorded_at: datetime
    value: float
    ok: bool
    reason: str


class MetricsRecorder:
    """Record measurements from any thread and read their summaries.

    Records wait in memory until ``flush_every`` of them have gathered or the oldest is
    ``max_delay_s`` old. Then the call that records the next one writes them all.
    Reading methods flush first. With ``max_delay_s=0`` every record is written at once.

    NOTE: records still in the buffer when the process dies are lost (at most
    ``max_delay_s`` worth); call :meth:`flush` at shutdown.
    """

    def __init__(
        self, store: LeadStore, *, flush_every: int = 200, max_delay_s: float = 2.0
    ) -> None:
        self._store = store
        self._flush_every = flush_every
        self._max_delay_s = max_delay_s
        self._lock = threading.Lock()
        self._buffer: list[_Pending] = []
        self._oldest_at = 0.0

    def record(
        self, kind: str, value_ms: float, ok: bool = True, reason: str = ""
    ) -> None:
        """Record one measurement (a latency in ms, or a sampled value)."""
        if not math.isfinite(value_ms):
            raise ValueError(f"metric {kind!r} must be a finite number, got {value_ms}")
        item = _Pending(kind, utcnow(), float(value_ms), ok, reason[:200])
        with self._lock:
            if not self._buffer:
                self._oldest_at = time.monotonic()
            self._buffer.append(item)
            due = (
                len(self._buffer) >= self._flush_every
                or time.monotonic() - self._oldest_at >= self._max_delay_s
            )
        if due:
            self.flush()

    def record_queue_depth(self, depth: int) -> None:
        """Record how many leads are waiting to reach the CRM right now."""
        self.record(QUEUE_DEPTH, float(depth))

    def flush(self) -> None:
        """Write the buffered records in one transaction."""
        with self._lock:
            items, self._buffer = self._buffer, []
        if not items:
            return
        rows = [
            {
                "kind": item.kind,
                "recorded_at": item.recorded_at,
                "value": item.value,
                "ok": item.ok,
                "reason": item.reason,
            }
            for item in items
        ]
        with self._store.engine.begin() as connection:
            connection.execute(insert(Metric), rows)
        logger.debug("Wrote %d metric records", len(rows))

    def summary(
        self, kind: str, since: datetime | None = None
    ) -> dict[str, float | int | None]:
        """Return ``{count, p50, p95, p99}`` of one kind; percentiles are None when
        there is no record."""
        values = sorted(value for _, value in self.series(kind, since))
        return {
            "count": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
        }

    def series(
        self, kind: str, since: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """Return ``(recorded_at, value)`` of one kind, oldest first."""
        query = select(Metric.recorded_at, Metric.value).where(Metric.kind == kind)
        if since is not None:
            query = query.where(Metric.recorded_at >= since)
        rows = self._read(query.order_by(Metric.recorded_at, Metric.id))
        return [(row[0], float(row[1])) for row in rows]

    def queue_depth_series(
        self, since: datetime | None = None
    ) -> list[tuple[datetime, int]]:
        """Return the sampled queue depths ``(recorded_at, depth)``, oldest first."""
        return [(at, int(value)) for at, value in self.series(QUEUE_DEPTH, since)]

    def outcome_counts(
        self, kind: str, since: datetime | None = None
    ) -> dict[str, int]:
        """Return ``{"ok": n, "failed": m}`` for one kind."""
        query = select(Metric.ok, func.count()).where(Metric.kind == kind)
        if since is not None:
            query = query.where(Metric.recorded_at >= since)
        counts = {
            bool(ok): int(count) for ok, count in self._read(query.group_by(Metric.ok))
        }
        return {"ok": counts.get(True, 0), "failed": counts.get(False, 0)}

    def failures_by_reason(
        self, kind: str | None = None, since: datetime | None = None
    ) -> dict[str, int]:
        """Count failed records by reason, most frequent first."""
        query = select(Metric.reason, func.count()).where(Metric.ok.is_(False))
        if kind is not None:
            query = query.where(Metric.kind == kind)
        if since is not None:
            query = query.where(Metric.recorded_at >= since)
        query = query.group_by(Metric.reason).order_by(func.count().desc())
        return {str(reason): int(count) for reason, count in self._read(query)}

    def prune(self, older_than: datetime) -> int:
        """Delete records older than ``older_than``; return how many went."""
        self.flush()
        with self._store.engine.begin() as connection:
            result = connection.execute(
                delete(Metric).where(Metric.recorded_at < older_than)
            )
        return int(result.rowcount)

    def _read(self, query: Any) -> Sequence[Any]:
        self.flush()
        with self._store.reader_session() as session:
            return session.execute(query).all()


def percentile(sorted_values: Sequence[float], percent: float) -> float | None:
    """Return the percentile of sorted values by linear interpolation, or None."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * percent / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction
