"""The staff panel: sync status, the lead list, sync actions, CSV, CRM settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.gui.metrics_panel import MetricsPanel
from kiosk.gui.staff.demo_controls import DemoControls
from kiosk.gui.staff.dialogs import CrmSettingsDialog, EditLeadDialog, probe_health
from kiosk.gui.staff.elided_label import ElidedLabel
from kiosk.gui.staff.jobs import BackgroundJob, ProgressCallback
from kiosk.gui.staff.lead_table_model import (
    CAPTURED,
    COLUMNS,
    COMPANY,
    EMAIL,
    NAME,
    REASON,
    STATE,
    LeadTableModel,
)
from kiosk.gui.staff.reasons import STATE_LABELS, plain_reason
from kiosk.gui.staff.sync_status import SyncStatusView, count_text
from kiosk.gui.workers import SyncStatusPoller

logger = logging.getLogger(__name__)

STATUS_INTERVAL_S = 1.0
TABLE_REFRESH_MS = 3000
SEARCH_DELAY_MS = 150


class StaffPanel(QWidget):
    """Everything the staff lead needs behind the PIN.

    Args:
        runtime: the :class:`kiosk.runtime.Runtime` (store, metrics, sync engine,
            embedded CRM).
        sync_worker: the window's sync worker, or ``None`` when the engine runs in
            another thread; its ``pause``/``resume``/``wake`` are used when present.

    Signals:
        job_finished(str, bool, str): a background job's name ("import", "export"),
            whether it succeeded, and the message shown to the staff.
        lead_requeued(str): the id of a lead saved again after an edit.
    """

    job_finished = Signal(str, bool, str)
    lead_requeued = Signal(str)

    def __init__(
        self, runtime: Any, sync_worker: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Staff panel")
        self._runtime = runtime
        self._sync_worker = sync_worker
        self._job: BackgroundJob | None = None
        self._job_name = ""
        self._probe_job: BackgroundJob | None = None
        self._probe_again = False
        self._shut_down = False
        self.model = LeadTableModel(runtime.store, parent=self)
        self._build_widgets()
        self._build_layout()
        self._connect()
        self.model.set_filter()
        self._update_count()
        self._status_poller.start()
        self._table_timer.start()

    # -- construction ---------------------------------------------------------------

    def _build_widgets(self) -> None:
        config = self._runtime.config
        self.status_view = SyncStatusView(config.kiosk.stale_alert_minutes)
        self.crm_label = ElidedLabel(f"CRM in use: {self._runtime.crm_label}")
        self.sync_now_button = QPushButton("Sync now")
        self.pause_button = QPushButton("Pause sync")
        self.pause_button.setCheckable(True)
        self.retry_button = QPushButton("Retry selected")
        self.edit_button = QPushButton("Edit and requeue...")
        self.import_button = QPushButton("Import CSV...")
        self.export_button = QPushButton("Export CSV...")
        self.settings_button = QPushButton("Test CRM connection...")
        self.burst_button = QPushButton("Simulate 100 scans...")

        self.progress = QProgressBar()
        self.progress.hide()
        self.job_label = ElidedLabel()

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search name, email or company")
        self.search_edit.setClearButtonEnabled(True)
        self.state_combo = QComboBox()
        self.state_combo.addItem("All states", None)
        for state, label in STATE_LABELS.items():
            self.state_combo.addItem(label, state)
        self.count_label = QLabel()

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._size_columns()

        self.demo_controls = None
        if self._runtime.embedded_crm is not None:
            self.demo_controls = DemoControls(self._runtime.embedded_crm)

        self._status_poller = SyncStatusPoller(
            self._runtime.sync_engine, STATUS_INTERVAL_S
        )
        self._table_timer = QTimer(self)
        self._table_timer.setInterval(TABLE_REFRESH_MS)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)

    def _size_columns(self) -> None:
        # Name, email, company and the reason (last) share the width and elide; the
        # model gives every cell its full text as a tooltip.
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(60)
        header.setStretchLastSection(True)
        for column in (NAME, EMAIL, COMPANY, REASON):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        for column in (CAPTURED, STATE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, 130)

    def _build_layout(self) -> None:
        # Two rows of four buttons, so the panel fits a 1024 px wide screen.
        actions = QGridLayout()
        buttons = (
            self.sync_now_button,
            self.pause_button,
            self.retry_button,
            self.edit_button,
            self.import_button,
            self.export_button,
            self.settings_button,
            self.burst_button,
        )
        for index, button in enumerate(buttons):
            actions.addWidget(button, index // 4, index % 4)

        filters = QHBoxLayout()
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.state_combo)
        filters.addWidget(self.count_label)
        jobs = QHBoxLayout()
        jobs.addWidget(self.progress, 1)
        jobs.addWidget(self.job_label, 2)

        leads = QWidget()
        leads_layout = QVBoxLayout(leads)
        leads_layout.addWidget(self.crm_label)
        leads_layout.addWidget(self.status_view)
        leads_layout.addLayout(actions)
        leads_layout.addLayout(jobs)
        if self.demo_controls is not None:
            leads_layout.addWidget(self.demo_controls)
        leads_layout.addLayout(filters)
        leads_layout.addWidget(self.table, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(leads, "Leads and sync")
        self.metrics_panel = MetricsPanel(self._runtime)
        self.tabs.addTab(self.metrics_panel, "Metrics")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)

    def _connect(self) -> None:
        self.sync_now_button.clicked.connect(self.sync_now)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.retry_button.clicked.connect(self.retry_selected)
        self.edit_button.clicked.connect(self.edit_selected)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.settings_button.clicked.connect(self.open_crm_settings)
        self.burst_button.clicked.connect(self.open_burst)
        self.search_edit.textChanged.connect(self._search_timer.start)
        self._search_timer.timeout.connect(self.apply_filter)
        self.state_combo.currentIndexChanged.connect(self.apply_filter)
        self._status_poller.status_changed.connect(self.status_view.show_status)
        if self.demo_controls is not None:
            # Only taking the CRM offline or back changes its health check, because
            # random errors would make one check's result a coin toss.
            self.demo_controls.offline_button.toggled.connect(self.check_crm_now)
        self._table_timer.timeout.connect(self._on_table_tick)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    # -- sync actions ---------------------------------------------------------------

    @Slot()
    def sync_now(self) -> None:
        """Wake the sync engine so it sends what is queued without waiting."""
        if self.pause_button.isChecked():
            self.pause_button.setChecked(False)
        self._sync_call("wake")

    @Slot(bool)
    def _on_pause_toggled(self, paused: bool) -> None:
        self._sync_call("pause" if paused else "resume")
        self.pause_button.setText("Resume sync" if paused else "Pause sync")
        logger.info("sync %s from the staff panel", "paused" if paused else "resumed")

    def _sync_call(self, name: str) -> None:
        target = self._sync_worker
        if target is None or not callable(getattr(target, name, None)):
            target = self._runtime.sync_engine
        getattr(target, name)()

    @Slot()
    def check_crm_now(self) -> None:
        """Wake the engine and check the CRM's health now, showing the result.

        The engine notices an outage only when a request fails, so after the demo
        controls change the CRM the status would otherwise stay stale. A request
        made while a check runs starts another check once that one ends.
        """
        if self._shut_down:
            return
        self._sync_call("wake")
        if self._probe_job is not None and self._probe_job.is_running():
            self._probe_again = True
            return
        self._probe_again = False
        url = self._runtime.crm_url
        timeout_s = float(self._runtime.config.crm.timeout_s)
        job = BackgroundJob(lambda _progress: probe_health(url, timeout_s), self)
        job.succeeded.connect(self._on_probe_finished)
        self._probe_job = job
        job.start()

    @Slot(object)
    def _on_probe_finished(self, reachable: object) -> None:
        self.status_view.show_probe(bool(reachable))
        if self._probe_again:
            self.check_crm_now()

    @Slot()
    def retry_selected(self) -> None:
        """Queue the selected leads again and wake the sync engine."""
        lead_ids = self.selected_lead_ids()
        if not lead_ids:
            return
        self._outbox().requeue(lead_ids)
        logger.info("requeued %d lead(s) from the staff panel", len(lead_ids))
        self._sync_call("wake")
        self.refresh_table()

    def _outbox(self) -> Any:
        engine_outbox = getattr(self._runtime.sync_engine, "outbox", None)
        if engine_outbox is not None:
            return engine_outbox
        from sync_daemon.outbox import Outbox

        return Outbox(self._runtime.store.engine)

    @Slot()
    def edit_selected(self) -> None:
        """Edit the selected lead that needs attention; save it as a new revision."""
        rows = self._selected_rows()
        if len(rows) != 1 or not self._needs_attention(rows[0]):
            return
        lead_id = self.model.lead_id(rows[0])
        record = self._runtime.store.get_lead(lead_id)
        reason = plain_reason(record.sync_state, record.last_error)
        dialog = EditLeadDialog(record.fields, reason, self)
        self.edit_dialog = dialog
        dialog.accepted.connect(lambda: self._save_edit(lead_id, dialog.fields()))
        dialog.open()

    def _save_edit(self, lead_id: str, fields: dict[str, Any]) -> None:
        saved = self._runtime.save_contact_lead(fields, lead_id=lead_id)
        logger.info("lead %s saved as revision %s", lead_id, saved.revision)
        self.refresh_table()
        self.lead_requeued.emit(lead_id)

    # -- CSV ------------------------------------------------------------------------

    @Slot()
    def _on_import_clicked(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import leads", "", "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.import_csv(Path(path))

    @Slot()
    def _on_export_clicked(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export leads", "leads.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def import_csv(self, path: Path) -> None:
        """Import leads from ``path`` in a worker thread, showing progress.

        Phone numbers without a country code are read in the configured capture
        region, as scanned ones are.
        """
        from kiosk.store import csvio

        store = self._runtime.store
        region = self._runtime.config.capture.default_region
        self._start_job(
            "import",
            lambda progress: csvio.import_csv(
                path, store, progress, default_region=region
            ),
        )

    def export_csv(self, path: Path) -> None:
        """Export every lead and its sync state to ``path`` in a worker thread."""
        from kiosk.store import csvio

        store = self._runtime.store
        self._start_job(
            "export",
            lambda progress: csvio.export_csv(path, store, progress),
        )

    def _start_job(
        self, name: str, function: Callable[[ProgressCallback], Any]
    ) -> None:
        if self._job is not None:
            QMessageBox.information(
                self, "Busy", f"Wait for the {self._job_name} to finish."
            )
            return
        self._job_name = name
        self._job = BackgroundJob(function, self)
        self._job.progressed.connect(self._on_job_progress)
        self._job.succeeded.connect(self._on_job_succeeded)
        self._job.failed.connect(self._on_job_failed)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.job_label.setText(f"{name.capitalize()} running...")
        self.import_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self._job.start()

    @Slot(int, int)
    def _on_job_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)
        rows = count_text(total or done, "row", "rows")
        suffix = f"{done} of {rows}" if total else rows
        self.job_label.setText(f"{self._job_name.capitalize()}: {suffix}")

    @Slot(object)
    def _on_job_succeeded(self, result: object) -> None:
        message = f"{self._job_name.capitalize()} finished: {_describe_result(result)}"
        if self._job_name == "import":
            self._sync_call("wake")
            self.apply_filter()
        self._end_job(True, message)

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self._end_job(False, f"{self._job_name.capitalize()} failed: {message}")

    def _end_job(self, ok: bool, message: str) -> None:
        name = self._job_name
        self._job = None
        self.progress.hide()
        self.job_label.setText(message)
        self.import_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.job_finished.emit(name, ok, message)

    # -- dialogs --------------------------------------------------------------------

    @Slot()
    def open_crm_settings(self) -> CrmSettingsDialog:
        """Show the CRM address and credentials in use, with a connection test."""
        crm = self._runtime.config.crm
        note = ""
        if self._runtime.embedded_crm is not None:
            note = "The kiosk runs its own demo CRM on this computer."
        dialog = CrmSettingsDialog(
            self._runtime.crm_url,
            crm.api_key,
            crm.operator_email,
            note,
            self,
            config_path=str(self._runtime.config.source or ""),
        )
        self.crm_settings_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def open_burst(self) -> QWidget:
        """Open the "Simulate 100 scans" window."""
        from kiosk.gui.burst_dialog import BurstDialog

        dialog = BurstDialog(self._runtime, parent=self)
        self.burst_dialog = dialog
        dialog.finished.connect(self.refresh_table)
        dialog.open()
        return dialog

    # -- refresh --------------------------------------------------------------------

    @Slot()
    def apply_filter(self) -> None:
        """Reload the list for the current search text and state filter."""
        self.model.set_filter(self.search_edit.text(), self.state_combo.currentData())
        self._update_count()

    @Slot()
    def refresh_table(self) -> None:
        """Reload the loaded rows so states and reasons are current."""
        self.model.refresh()
        self._update_count()

    @Slot()
    def _on_table_tick(self) -> None:
        if self.isVisible():
            self.refresh_table()

    def _update_count(self) -> None:
        # Counting a search or a state filter scans every lead and takes as long as
        # the search itself, so a filtered list that is not fully loaded shows "N+".
        loaded = self.model.rowCount()
        if self.model.canFetchMore() and (self.model.search or self.model.state_filter):
            self.count_label.setText(f"{loaded}+ leads")
            return
        total = loaded if not self.model.canFetchMore() else self.model.total_count()
        self.count_label.setText(f"{total} lead{'s' if total != 1 else ''}")

    @Slot()
    def _update_buttons(self) -> None:
        rows = self._selected_rows()
        self.retry_button.setEnabled(bool(rows))
        attention = len(rows) == 1 and self._needs_attention(rows[0])
        self.edit_button.setEnabled(attention)

    def _needs_attention(self, row: int) -> bool:
        return self.model.sync_state(row) == "needs_attention"

    def _selected_rows(self) -> list[int]:
        selection = self.table.selectionModel()
        return sorted({index.row() for index in selection.selectedRows()})

    def selected_lead_ids(self) -> list[str]:
        """Return the ids of the selected leads, top to bottom."""
        return [self.model.lead_id(row) for row in self._selected_rows()]

    # -- shutdown -------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the timers and wait for a running import, export or CRM check."""
        self._shut_down = True
        self._table_timer.stop()
        self._search_timer.stop()
        self._status_poller.stop()
        self.metrics_panel.shutdown()
        if self._job is not None:
            self._job.wait()
        if self._probe_job is not None:
            self._probe_job.wait()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def _describe_result(result: object) -> str:
    from kiosk.store.csvio import ExportReport, ImportReport

    if isinstance(result, ExportReport):
        return f"{result.exported} leads written."
    if not isinstance(result, ImportReport):
        return "done."
    text = f"{result.summary()}."
    if result.rejected:
        first = result.rejected[0]
        text += f" First rejected row: line {first.line}, {first.reason}"
    return text


__all__ = ["COLUMNS", "StaffPanel"]
