"""The "Simulate 100 scans" window: the burst core in a worker thread, watched live.

A precise QTimer heartbeat runs on the GUI thread during the burst. The longest gap
between two beats, less the beat interval, is the GUI thread's maximum stall. The
stall reported as ``gui_stall_ms_max`` covers the timed run (decode, parse, save and
sync); badge rendering comes before the clock starts, like its time, and its stall is
reported apart in :attr:`BurstDialog.render_stall_ms`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kiosk.burst import BurstProgress, BurstResult, prepare_burst, run_burst

logger = logging.getLogger(__name__)

HEARTBEAT_MS = 5
# Measured with benchmarks/burst_gui.py on a loaded 2-core machine: 4 burst threads
# stalled the GUI thread for 33 to 55 ms, 2 threads for 12 to 19 ms, at the same speed.
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))
STALL_LIMIT_MS = 50.0
LOG_LINES = 500


class StallMeter(QObject):
    """Measure how long the GUI thread's event loop goes without running a timer.

    Each beat records the gap since the previous one; the stall is that gap less the
    interval. Start it before the work to watch and stop it after.
    """

    def __init__(self, interval_ms: int = HEARTBEAT_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_beat)
        self._interval_s = interval_ms / 1000.0
        self._last = 0.0
        self._started = 0.0
        self.max_stall_ms = 0.0
        self.max_stall_at_s = 0.0
        self.beats = 0

    def start(self) -> None:
        """Reset the maximum and start beating."""
        self.max_stall_ms = 0.0
        self.max_stall_at_s = 0.0
        self.beats = 0
        self._last = self._started = time.perf_counter()
        self._timer.start()

    def stop(self) -> float:
        """Stop beating and return the maximum stall in milliseconds."""
        self._on_beat()
        self._timer.stop()
        return self.max_stall_ms

    def is_active(self) -> bool:
        """Is the heartbeat running?"""
        return self._timer.isActive()

    @Slot()
    def _on_beat(self) -> None:
        now = time.perf_counter()
        stall_ms = max(0.0, (now - self._last - self._interval_s) * 1000.0)
        if stall_ms > self.max_stall_ms:
            self.max_stall_ms = stall_ms
            self.max_stall_at_s = self._last - self._started
        self._last = now
        self.beats += 1


class _BurstRunner(QObject):
    """Prepare and run the burst; lives in the burst's QThread."""

    progressed = Signal(object)
    rendered = Signal(float)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, runtime: Any, count: int, options: dict[str, Any]) -> None:
        super().__init__()
        self._runtime = runtime
        self._count = count
        self._options = options

    @Slot()
    def run(self) -> None:
        try:
            prepared = prepare_burst(self._count, on_progress=self.progressed.emit)
            self.rendered.emit(prepared.seconds_rendering)
            result = run_burst(
                self._runtime,
                prepared,
                on_progress=self.progressed.emit,
                **self._options,
            )
        except Exception as exc:
            logger.exception("The burst failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


class BurstDialog(QDialog):
    """Run a burst of simulated scans and show its progress, log and result.

    The sync engine must already be running (the window's sync worker, or
    ``runtime.start_sync_thread()``), because the burst waits for every lead to sync.

    Args:
        runtime: the kiosk runtime whose store and sync engine the burst uses.
        count: the number of simulated visitors shown in the count box.
        sync_timeout_s: how long the burst waits for every lead to sync.
        workers: threads decoding and saving at once (``None``: one a CPU core, at
            most 4), each competing with the GUI thread for the interpreter lock.
        group_commit: let saves that arrive together share one transaction.

    Signals:
        burst_finished(object): the :class:`kiosk.burst.BurstResult`, with
            ``gui_stall_ms_max`` filled in, or ``None`` when the burst failed.
    """

    burst_finished = Signal(object)

    def __init__(
        self,
        runtime: Any,
        count: int = 100,
        *,
        sync_timeout_s: float = 60.0,
        workers: int | None = None,
        group_commit: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Simulate a burst of scans")
        self._runtime = runtime
        self._options = {
            "sync_timeout_s": sync_timeout_s,
            "workers": workers or DEFAULT_WORKERS,
            "group_commit": group_commit,
        }
        self._thread: QThread | None = None
        self._runner: _BurstRunner | None = None
        self.burst_result: BurstResult | None = None
        self.render_stall_ms: float | None = None
        self.stall_meter = StallMeter(parent=self)
        self._build(count)

    def _build(self, count: int) -> None:
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 1000)
        self.count_spin.setValue(count)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.render_bar = _bar()
        self.saved_bar = _bar()
        self.synced_bar = _bar()
        self.stage_label = _plain_label("Ready.")
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.result_label = _plain_label()
        self.result_label.setObjectName("burstResult")
        self.result_label.setStyleSheet("font-size: 15px;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(QLabel("Visitors"))
        top.addWidget(self.count_spin)
        top.addWidget(self.start_button)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        bars = QFormLayout()
        bars.addRow("Rendered", self.render_bar)
        bars.addRow("Saved", self.saved_bar)
        bars.addRow("Synced", self.synced_bar)
        layout.addWidget(self.stage_label)
        layout.addLayout(bars)
        layout.addWidget(self.log_view, 1)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)
        self.resize(720, 560)

    def is_running(self) -> bool:
        """Is a burst in progress?"""
        return self._thread is not None

    @Slot()
    def start(self) -> None:
        """Start the burst in a worker thread and the heartbeat on this one."""
        if self._thread is not None:
            return
        count = self.count_spin.value()
        self.burst_result = None
        self.render_stall_ms = None
        self.start_button.setEnabled(False)
        self.count_spin.setEnabled(False)
        self.buttons.setEnabled(False)
        for bar in (self.render_bar, self.saved_bar, self.synced_bar):
            bar.setRange(0, count)
            bar.setValue(0)
        self.stage_label.setText(f"Rendering {count} badges...")
        self.result_label.clear()
        self.log_view.clear()
        self._thread = QThread()
        self._thread.setObjectName("burst")
        self._runner = _BurstRunner(self._runtime, count, self._options)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progressed.connect(self._on_progress)
        self._runner.rendered.connect(self._on_rendered)
        self._runner.succeeded.connect(self._on_succeeded)
        self._runner.failed.connect(self._on_failed)
        self.stall_meter.start()
        logger.info("burst of %d scans started", count)
        self._thread.start()

    @Slot(float)
    def _on_rendered(self, seconds: float) -> None:
        # NOTE: the timed run has already started in the worker thread when this
        # queued signal arrives, so its first milliseconds are watched by the
        # rendering meter instead.
        self.render_stall_ms = self.stall_meter.stop()
        self.stall_meter.start()
        self.stage_label.setText(
            f"Badges rendered in {seconds:.2f} s. Decoding, saving and syncing..."
        )
        self.render_bar.setValue(self.render_bar.maximum())

    @Slot(object)
    def _on_progress(self, progress: BurstProgress) -> None:
        rendering = self.render_bar.value() < self.render_bar.maximum()
        if rendering and progress.decoded == 0 and not progress.message:
            self.render_bar.setValue(self.render_bar.value() + 1)
            return
        self.saved_bar.setValue(progress.saved)
        self.synced_bar.setValue(progress.synced)
        if progress.message:
            self.log_view.appendPlainText(
                f"{progress.elapsed_s:7.3f} s  {progress.message}"
            )

    @Slot(object)
    def _on_succeeded(self, result: BurstResult) -> None:
        stall = self._stop_thread()
        self.burst_result = dataclasses.replace(
            result, gui_stall_ms_max=stall, gui_stall_ms_rendering=self.render_stall_ms
        )
        self.stage_label.setText("Burst finished.")
        self.result_label.setText(format_result(self.burst_result))
        self.log_view.appendPlainText(
            f"Longest GUI stall during the timed run: {stall:.1f} ms, "
            f"{self.stall_meter.max_stall_at_s:.2f} s after rendering ended; "
            f"while rendering: {self.render_stall_ms or 0.0:.1f} ms."
        )
        for error in self.burst_result.errors[:20]:
            self.log_view.appendPlainText(f"error: {error}")
        # The text layout updates lazily, so scroll once the event loop has run it.
        QTimer.singleShot(0, self._scroll_log_to_end)
        logger.info(
            "burst finished: %d saved, %d synced, GUI stall max %.1f ms",
            self.burst_result.saved,
            self.burst_result.synced,
            stall,
        )
        self.burst_finished.emit(self.burst_result)

    @Slot()
    def _scroll_log_to_end(self) -> None:
        scroll_bar = self.log_view.verticalScrollBar()
        scroll_bar.setValue(scroll_bar.maximum())

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._stop_thread()
        self.stage_label.setText("The burst failed.")
        self.result_label.setText(message)
        self.burst_finished.emit(None)

    def _stop_thread(self) -> float:
        stall = self.stall_meter.stop()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread = None
        self._runner = None
        self.start_button.setEnabled(True)
        self.count_spin.setEnabled(True)
        self.buttons.setEnabled(True)
        return stall

    def done(self, result: int) -> None:
        """Close the dialog, but never while a burst is running."""
        if self._thread is not None:
            return
        super().done(result)


def format_result(result: BurstResult) -> str:
    """Return the burst's figures as the lines the dialog shows."""
    lines = [
        f"Saved {result.saved} of {result.count}, synced {result.synced}.",
        f"Time to all saved: {_seconds(result.seconds_to_all_saved)}; "
        f"to all synced: {_seconds(result.seconds_to_all_synced)} "
        "(from the first frame entering the decoder).",
        f"Rendering the badges took {result.seconds_rendering:.2f} s (not counted).",
        f"Save latency p50 {_ms(result.save_latency_ms_p50)}, "
        f"p95 {_ms(result.save_latency_ms_p95)}; scan to save p50 "
        f"{_ms(result.scan_to_save_ms_p50)}, p95 {_ms(result.scan_to_save_ms_p95)}.",
        f"Errors: {len(result.errors)}.",
    ]
    if result.gui_stall_ms_max is not None:
        verdict = "within" if result.gui_stall_ms_max < STALL_LIMIT_MS else "over"
        lines.append(
            f"Longest GUI stall during the timed run: {result.gui_stall_ms_max:.1f} ms "
            f"({verdict} the {STALL_LIMIT_MS:.0f} ms limit)."
        )
    if result.gui_stall_ms_rendering is not None:
        lines.append(
            "Longest GUI stall while rendering the badges: "
            f"{result.gui_stall_ms_rendering:.1f} ms (before the timed run, so the "
            "limit does not apply)."
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _bar() -> QProgressBar:
    bar = QProgressBar()
    bar.setFormat("%v of %m")
    return bar


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def run_burst_window(args: argparse.Namespace) -> int:
    """Run ``kiosk burst`` in a window; return 0 when every lead was saved and synced.

    With ``--json`` the result, including ``gui_stall_ms_max``, is printed on stdout
    as one JSON object. The window closes on its own when the burst ends.
    """
    from kiosk.config import load_config
    from kiosk.runtime import Runtime

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Booth kiosk")
    config = load_config(getattr(args, "config", None))
    with tempfile.TemporaryDirectory(prefix="kiosk-burst-") as folder:
        db_url = args.db or f"sqlite:///{Path(folder) / 'burst.sqlite3'}"
        with Runtime(config, db_url, crm_data_dir=Path(folder) / "crm") as runtime:
            runtime.start_sync_thread()
            dialog = BurstDialog(
                runtime,
                args.count,
                workers=getattr(args, "workers", None),
                group_commit=getattr(args, "group_commit", True),
            )
            result = _run_dialog(dialog)
    if result is None:
        return 1
    if args.json:
        sys.stdout.write(json.dumps(result.to_json_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(format_result(result) + "\n")
    complete = result.saved == result.count and result.synced == result.count
    return 0 if complete else 1


def _run_dialog(dialog: BurstDialog) -> BurstResult | None:
    dialog.burst_finished.connect(
        lambda _result: QTimer.singleShot(1500, dialog.accept)
    )
    QTimer.singleShot(0, dialog.start)
    dialog.exec()
    return dialog.burst_result
