"""The metrics panel reads measured figures back from the store, across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QTableWidget

from kiosk.config import parse_config
from kiosk.gui.metrics_panel import MetricsPanel, read_snapshot
from kiosk.runtime import Runtime


def _runtime(tmp_path: Path) -> Runtime:
    return Runtime(
        parse_config({}),
        f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        crm_data_dir=tmp_path / "crm",
    )


def _cells(table: QTableWidget) -> dict[str, list[str]]:
    rows = {}
    for row in range(table.rowCount()):
        texts = [
            table.item(row, column).text() for column in range(table.columnCount())
        ]
        rows[texts[0]] = texts[1:]
    return rows


def _record_figures(runtime: Runtime) -> None:
    for value in (10.0, 20.0, 30.0, 40.0):
        runtime.record_metric("save_commit", value)
    runtime.record_metric("scan_to_form", 150.0)
    runtime.record_metric("crm_request", 25.0)
    runtime.record_metric("crm_request", 35.0)
    runtime.record_metric("crm_request", 900.0, ok=False, reason="HTTP 503")


def _open_panel(runtime: Runtime, qtbot: Any) -> MetricsPanel:
    panel = MetricsPanel(runtime)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitUntil(lambda: panel.snapshot is not None, timeout=10000)
    return panel


def test_panel_shows_recorded_figures(tmp_path: Path, qtbot) -> None:
    runtime = _runtime(tmp_path)
    try:
        _record_figures(runtime)
        panel = _open_panel(runtime, qtbot)
        latency = _cells(panel.latency_table)
        assert latency["Save commit"][0] == "4"
        assert latency["Scan to form"] == ["1", "150.0 ms", "150.0 ms", "150.0 ms"]
        assert latency["CRM request"][0] == "3"
        outcomes = _cells(panel.outcome_table)
        assert outcomes["CRM requests succeeded"] == ["2"]
        assert outcomes["Failed: HTTP 503"] == ["1"]
        assert panel.latency_chart.series["crm_request"].count() == 3
        assert panel.latency_chart.series["save_commit"].count() == 4
        assert panel.queue_chart.series.count() >= 1
        assert "Throughput" in panel.throughput_label.text()
        panel.shutdown()
    finally:
        runtime.close()


def test_figures_survive_restart(tmp_path: Path, qtbot) -> None:
    first = _runtime(tmp_path)
    try:
        _record_figures(first)
    finally:
        first.close()
    second = _runtime(tmp_path)
    try:
        panel = _open_panel(second, qtbot)
        latency = _cells(panel.latency_table)
        assert latency["Save commit"][0] == "4"
        assert latency["Save commit"][1] != "-"
        assert _cells(panel.outcome_table)["Failed: HTTP 503"] == ["1"]
        panel.shutdown()
    finally:
        second.close()


def test_snapshot_counts_synced_leads(tmp_path: Path, qtbot) -> None:
    runtime = _runtime(tmp_path)
    try:
        runtime.start_sync_thread()
        saved = runtime.save_lead({"first_name": "Ana", "email": "ana@example.com"})
        qtbot.waitUntil(
            lambda: runtime.store.get_lead(saved.lead_id).sync_state == "synced",
            timeout=10000,
        )
        snapshot = read_snapshot(runtime, record_depth=True)
        assert snapshot.synced_total == 1
        assert snapshot.synced_last_minute == 1
        assert snapshot.waiting == 0
        assert snapshot.summaries["crm_request"]["count"] >= 1
        assert snapshot.queue_depth[-1][1] == 0
    finally:
        runtime.close()


def test_panel_stops_polling(tmp_path: Path, qtbot) -> None:
    runtime = _runtime(tmp_path)
    try:
        panel = _open_panel(runtime, qtbot)
        panel.shutdown()
        assert not panel._poller._thread.isRunning()
    finally:
        runtime.close()


def test_synced_count_reads_without_write_lock(tmp_path: Path) -> None:
    import sqlite3
    import time
    from datetime import UTC, datetime, timedelta

    from kiosk.gui.metrics_panel import _synced_since

    runtime = _runtime(tmp_path)
    writer = sqlite3.connect(tmp_path / "leads.sqlite3", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        count = _synced_since(runtime, datetime.now(UTC) - timedelta(minutes=1))
        # A read that took the write lock would wait the 5 s busy timeout, then fail.
        assert time.monotonic() - started < 2.0
        assert count == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        runtime.close()
