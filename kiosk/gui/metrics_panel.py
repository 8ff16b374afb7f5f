"""The metrics panel: measured latencies, outcomes, queue depth and throughput.

Every figure is read back from the metrics table of the lead store (and the outbox), so
it survives a restart. The reads run in a worker thread every few seconds; the GUI
thread only draws the snapshot it receives.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCharts import (
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QScatterSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QObject, QPointF, Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)

CRM_REQUEST = "crm_request"
LATENCY_KINDS = (
    ("scan_to_form", "Scan to form"),
    ("save_commit", "Save commit"),
    (CRM_REQUEST, "CRM request"),
)
CHART_KINDS = (CRM_REQUEST, "save_commit")
REFRESH_S = 2.0
CHART_WINDOW = timedelta(minutes=15)
MIN_CHART_SPAN = timedelta(minutes=2)
MAX_CHART_POINTS = 2000


@dataclass(frozen=True)
class MetricsSnapshot:
    """Everything the panel shows, read in one pass off the GUI thread."""

    taken_at: datetime
    summaries: dict[str, dict[str, Any]]
    requests_ok: int
    failures: tuple[tuple[str, int], ...]
    latency_samples: dict[str, tuple[tuple[datetime, float], ...]]
    queue_depth: tuple[tuple[datetime, int], ...]
    synced_total: int
    synced_last_minute: int
    waiting: int


def read_snapshot(
    runtime: Any, now: datetime | None = None, *, record_depth: bool = False
) -> MetricsSnapshot:
    """Read the figures from the metrics table and the outbox.

    Blocks on the database: call it from a worker thread.

    Args:
        runtime: the kiosk runtime.
        now: the time of the reading (default: now).
        record_depth: also record the current queue depth as a ``queue_depth`` metric.
    """
    now = now or datetime.now(UTC)
    since = now - CHART_WINDOW
    recorder = runtime.metrics
    stats = runtime.sync_engine.status().stats
    waiting = int(stats.pending + stats.in_flight + stats.retry_wait)
    if record_depth:
        recorder.record_queue_depth(waiting)
    outcomes = recorder.outcome_counts(CRM_REQUEST)
    return MetricsSnapshot(
        taken_at=now,
        summaries={kind: dict(recorder.summary(kind)) for kind, _ in LATENCY_KINDS},
        requests_ok=int(outcomes.get("ok", 0)),
        failures=tuple(recorder.failures_by_reason(CRM_REQUEST).items()),
        latency_samples={
            kind: tuple(
                (_aware(when), value) for when, value in recorder.series(kind, since)
            )[-MAX_CHART_POINTS:]
            for kind in CHART_KINDS
        },
        queue_depth=tuple(
            (_aware(when), depth) for when, depth in recorder.queue_depth_series(since)
        ),
        synced_total=int(stats.synced),
        synced_last_minute=_synced_since(runtime, now - timedelta(minutes=1)),
        waiting=waiting,
    )


def _synced_since(runtime: Any, since: datetime) -> int:
    from sqlalchemy import func, select

    from sync_daemon.outbox import SYNCED, outbox_table

    table = outbox_table
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.state == SYNCED, table.c.synced_at >= since)
    )
    with runtime.store.reader_session() as session:
        return int(session.execute(query).scalar_one())


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class MetricsPoller(QObject):
    """Reads a :class:`MetricsSnapshot` every few seconds in its own QThread.

    Signals:
        snapshot_ready(object): a fresh :class:`MetricsSnapshot`.
    """

    snapshot_ready = Signal(object)

    def __init__(self, runtime: Any, interval_s: float = REFRESH_S) -> None:
        super().__init__()
        self._runtime = runtime
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._failures = 0
        self._thread = QThread()
        self._thread.setObjectName("kiosk-metrics")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def refresh(self) -> None:
        """Read a snapshot now instead of at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop polling and wait for the thread to end."""
        self._stop.set()
        self._wake.set()
        self._thread.quit()
        self._thread.wait()

    @Slot()
    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll_once()
            self._wake.wait(self._interval_s)
            self._wake.clear()

    def _poll_once(self) -> None:
        try:
            # The runtime samples the queue depth whether or not this panel is open.
            snapshot = read_snapshot(self._runtime)
        except Exception as exc:  # the next poll tries again
            self._failures += 1
            if self._failures == 1 or self._failures % 30 == 0:
                logger.warning(
                    "Could not read the metrics (%d failures so far): %s",
                    self._failures,
                    exc,
                )
            return
        self._failures = 0
        self.snapshot_ready.emit(snapshot)


class MetricsPanel(QWidget):
    """Charts of latency and queue depth over the last minutes, and a figures table.

    Args:
        runtime: the :class:`kiosk.runtime.Runtime` whose store contains the metrics.
        autostart: start polling at once (tests may pass False and feed snapshots).
    """

    def __init__(
        self, runtime: Any, parent: QWidget | None = None, *, autostart: bool = True
    ) -> None:
        super().__init__(parent)
        self.snapshot: MetricsSnapshot | None = None
        self.latency_table = _table(["Measure", "Count", "p50", "p95", "p99"])
        self.outcome_table = _table(["Outcome", "Count"])
        # Failure reasons can be long: the outcome column takes the free width and
        # elides (the tooltip has the full reason), so the Count column stays visible.
        outcome_header = self.outcome_table.horizontalHeader()
        outcome_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        outcome_header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.outcome_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.outcome_table.setWordWrap(False)
        self.throughput_label = QLabel("Throughput: waiting for the first reading...")
        self.throughput_label.setTextFormat(Qt.TextFormat.PlainText)
        self.throughput_label.setWordWrap(True)
        self.latency_chart = _LatencyChart()
        self.queue_chart = _QueueChart()
        self._layout()
        self._poller = MetricsPoller(runtime)
        self._poller.snapshot_ready.connect(self.show_snapshot)
        if autostart:
            self._poller.start()

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(self.latency_chart.view, 0, 0)
        grid.addWidget(self.queue_chart.view, 0, 1)
        grid.addWidget(self.latency_table, 1, 0)
        grid.addWidget(self.outcome_table, 1, 1)
        grid.setRowStretch(0, 4)
        grid.setRowStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.throughput_label)

    def refresh(self) -> None:
        """Ask for a new reading now."""
        self._poller.refresh()

    def shutdown(self) -> None:
        """Stop the polling thread."""
        self._poller.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    @Slot(object)
    def show_snapshot(self, snapshot: MetricsSnapshot) -> None:
        """Draw a snapshot: tables, throughput line and both charts."""
        self.snapshot = snapshot
        self._fill_latency_table(snapshot)
        self._fill_outcome_table(snapshot)
        self.throughput_label.setText(
            f"Throughput: {snapshot.synced_last_minute} leads synced in the last "
            f"minute; {snapshot.synced_total} synced in all; "
            f"{snapshot.waiting} waiting."
        )
        self.latency_chart.show_samples(snapshot)
        self.queue_chart.show_depth(snapshot)

    def _fill_latency_table(self, snapshot: MetricsSnapshot) -> None:
        self.latency_table.setRowCount(len(LATENCY_KINDS))
        for row, (kind, label) in enumerate(LATENCY_KINDS):
            summary = snapshot.summaries.get(kind, {})
            cells = [label, str(int(summary.get("count") or 0))]
            cells += [_ms(summary.get(name)) for name in ("p50", "p95", "p99")]
            _set_row(self.latency_table, row, cells)

    def _fill_outcome_table(self, snapshot: MetricsSnapshot) -> None:
        rows = [("CRM requests succeeded", snapshot.requests_ok)]
        rows += [
            (f"Failed: {reason or 'no reason recorded'}", count)
            for reason, count in snapshot.failures
        ]
        self.outcome_table.setRowCount(len(rows))
        for row, (label, count) in enumerate(rows):
            _set_row(self.outcome_table, row, [label, str(count)])


class _LatencyChart:
    def __init__(self) -> None:
        self.chart = QChart()
        self.chart.setTitle("Latency of each save and CRM request")
        self.series = {
            "crm_request": QScatterSeries(),
            "save_commit": QScatterSeries(),
        }
        self.series["crm_request"].setName("CRM request")
        self.series["save_commit"].setName("Save commit")
        self.x_axis, self.y_axis = _axes(self.chart, "ms")
        for series in self.series.values():
            series.setMarkerSize(6.0)
            _attach(self.chart, series, self.x_axis, self.y_axis)
        self.view = _view(self.chart)

    def show_samples(self, snapshot: MetricsSnapshot) -> None:
        top = 1.0
        samples_of = snapshot.latency_samples
        for kind, series in self.series.items():
            samples = snapshot.latency_samples.get(kind, ())
            series.replace([QPointF(_msecs(when), value) for when, value in samples])
            top = max([top, *(value for _when, value in samples)])
        _set_time_range(self.x_axis, snapshot.taken_at, _first_time(samples_of))
        self.y_axis.setRange(0.0, top * 1.1)


class _QueueChart:
    def __init__(self) -> None:
        self.chart = QChart()
        self.chart.setTitle(f"Queue depth (sampled every {REFRESH_S:.0f} s)")
        self.series = QLineSeries()
        self.series.setName("Leads waiting for the CRM")
        self.x_axis, self.y_axis = _axes(self.chart, "leads")
        self.y_axis.setLabelFormat("%.0f")
        self.y_axis.setTickCount(5)
        _attach(self.chart, self.series, self.x_axis, self.y_axis)
        self.view = _view(self.chart)

    def show_depth(self, snapshot: MetricsSnapshot) -> None:
        points = [(when, float(depth)) for when, depth in snapshot.queue_depth]
        points.append((snapshot.taken_at, float(snapshot.waiting)))
        self.series.replace([QPointF(_msecs(when), depth) for when, depth in points])
        _set_time_range(self.x_axis, snapshot.taken_at, points[0][0])
        # Four intervals on a multiple of four keep the tick labels whole numbers.
        deepest = max(depth for _when, depth in points)
        self.y_axis.setRange(0.0, max(4.0, math.ceil(deepest * 1.1 / 4.0) * 4.0))


def _axes(chart: QChart, unit: str) -> tuple[QDateTimeAxis, QValueAxis]:
    x_axis = QDateTimeAxis()
    x_axis.setTickCount(5)
    y_axis = QValueAxis()
    y_axis.setTitleText(unit)
    chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    return x_axis, y_axis


def _attach(chart: QChart, series: Any, x_axis: Any, y_axis: Any) -> None:
    chart.addSeries(series)
    series.attachAxis(x_axis)
    series.attachAxis(y_axis)


def _view(chart: QChart) -> QChartView:
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(220)
    return view


def _set_time_range(axis: QDateTimeAxis, now: datetime, first: datetime | None) -> None:
    """Show from the first point (at most 15 minutes back, at least 2) to now."""
    start = now - MIN_CHART_SPAN
    if first is not None:
        start = min(start, first - timedelta(seconds=10))
    start = max(start, now - CHART_WINDOW)
    axis.setFormat("HH:mm:ss" if now - start < timedelta(minutes=5) else "HH:mm")
    axis.setRange(
        QDateTime.fromMSecsSinceEpoch(int(_msecs(start))),
        QDateTime.fromMSecsSinceEpoch(int(_msecs(now))),
    )


def _first_time(
    samples: dict[str, tuple[tuple[datetime, float], ...]],
) -> datetime | None:
    firsts = [points[0][0] for points in samples.values() if points]
    return min(firsts, default=None)


def _msecs(when: datetime) -> float:
    return when.timestamp() * 1000.0


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setSectionResizeMode(
        0, QHeaderView.ResizeMode.ResizeToContents
    )
    return table


def _set_row(table: QTableWidget, row: int, cells: list[str]) -> None:
    for column, text in enumerate(cells):
        item = QTableWidgetItem(text)
        item.setToolTip(text)
        if column > 0:
            item.setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
        table.setItem(row, column, item)


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} ms"
