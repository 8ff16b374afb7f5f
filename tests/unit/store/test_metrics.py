"""Metrics kept in the database, read back after a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.store import open_store
from kiosk.store.metrics import (
    CRM_REQUEST,
    SAVE_COMMIT,
    MetricsRecorder,
    percentile,
)
from sync_daemon.db import utcnow


def test_metrics_survive_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = open_store(url)
    recorder = MetricsRecorder(store)
    for value in range(1, 101):
        recorder.record(SAVE_COMMIT, float(value))
    recorder.record(CRM_REQUEST, 120.0, ok=False, reason="HTTP 503")
    recorder.record(CRM_REQUEST, 80.0, ok=False, reason="HTTP 503")
    recorder.record(CRM_REQUEST, 5000.0, ok=False, reason="timeout")
    recorder.record(CRM_REQUEST, 40.0)
    recorder.record_queue_depth(7)
    recorder.flush()
    store.close()

    reopened = open_store(url)
    summary = MetricsRecorder(reopened).summary(SAVE_COMMIT)
    again = MetricsRecorder(reopened)
    failures = again.failures_by_reason()
    outcomes = again.outcome_counts(CRM_REQUEST)
    depths = again.queue_depth_series(utcnow() - timedelta(minutes=5))
    reopened.close()

    assert summary["count"] == 100
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05)
    assert summary["p99"] == pytest.approx(99.01)
    assert failures == {"HTTP 503": 2, "timeout": 1}
    assert outcomes == {"ok": 1, "failed": 3}
    assert [depth for _, depth in depths] == [7]


def test_records_buffered_until_flush(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    writer = MetricsRecorder(store, flush_every=1000, max_delay_s=3600)
    reader = MetricsRecorder(store)
    writer.record(SAVE_COMMIT, 3.0)
    before = reader.summary(SAVE_COMMIT)["count"]
    writer.flush()
    after = reader.summary(SAVE_COMMIT)["count"]
    store.close()
    assert before == 0
    assert after == 1


def test_summary_of_unknown_kind_is_empty(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    summary = MetricsRecorder(store).summary("nothing")
    store.close()
    assert summary == {"count": 0, "p50": None, "p95": None, "p99": None}


def test_non_finite_value_rejected(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    with pytest.raises(ValueError, match="finite"):
        MetricsRecorder(store).record(SAVE_COMMIT, float("nan"))
    store.close()


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
