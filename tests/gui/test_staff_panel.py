"""The staff panel against a real runtime: store, sync thread and embedded AcmeCRM."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel

from kiosk.config import parse_config
from kiosk.gui.staff.dialogs import (
    CrmSettingsDialog,
    EditLeadDialog,
    check_connection,
    probe_health,
)
from kiosk.gui.staff.lead_table_model import COLUMNS, REASON, STATE
from kiosk.gui.staff.staff_panel import StaffPanel
from kiosk.gui.staff.sync_status import SyncStatusView, count_text
from kiosk.runtime import Runtime
from sync_daemon.engine import EngineStatus
from sync_daemon.outbox import QueueStats

FAST_SYNC = {"sync": {"backoff_base_s": 0.1, "backoff_cap_s": 0.5}}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    kiosk_runtime = Runtime(
        parse_config(FAST_SYNC),
        f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        crm_data_dir=tmp_path / "crm",
    )
    kiosk_runtime.start_sync_thread()
    yield kiosk_runtime
    kiosk_runtime.close()


@pytest.fixture
def panel(runtime: Runtime, qtbot: Any) -> Iterator[StaffPanel]:
    staff = StaffPanel(runtime, None)
    qtbot.addWidget(staff)
    staff.resize(1200, 800)
    staff.show()
    yield staff
    staff.shutdown()


def _save(runtime: Runtime, first: str, email: str, company: str = "Globex") -> str:
    fields = {"first_name": first, "last_name": "Tester", "email": email}
    fields["company"] = company
    return runtime.save_lead(fields).lead_id


def _state_of(runtime: Runtime, lead_id: str) -> str:
    return runtime.store.get_lead(lead_id).sync_state


def _select_lead(panel: StaffPanel, lead_id: str) -> None:
    model = panel.model
    rows = [row for row in range(model.rowCount()) if model.lead_id(row) == lead_id]
    assert rows, f"lead {lead_id} is not in the list"
    panel.table.selectRow(rows[0])


def _row_text(panel: StaffPanel, lead_id: str, column: int) -> str:
    model = panel.model
    for row in range(model.rowCount()):
        if model.lead_id(row) == lead_id:
            return str(model.index(row, column).data())
    return ""


def test_panel_lists_and_searches_leads(panel: StaffPanel, runtime, qtbot) -> None:
    _save(runtime, "Zoë", "zoe@example.com", "Müller & Söhne")
    _save(runtime, "Ana", "ana@example.com", "Initech")
    panel.refresh_table()
    assert panel.model.rowCount() == 2
    # QTest.keyClicks asserts on non-ASCII keys, so the text is set directly.
    panel.search_edit.setText("müller")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=3000)
    assert panel.model.index(0, 2).data() == "Müller & Söhne"
    assert panel.count_label.text() == "1 lead"


def test_sync_now_sends_waiting_leads(panel: StaffPanel, runtime, qtbot) -> None:
    panel.pause_button.click()
    assert runtime.sync_engine.status().paused
    assert panel.pause_button.text() == "Resume sync"
    lead_id = _save(runtime, "Ana", "ana@example.com")
    runtime.sync_engine.wake()
    qtbot.wait(300)
    assert _state_of(runtime, lead_id) == "pending"
    panel.sync_now_button.click()
    assert not panel.pause_button.isChecked()
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)
    panel.refresh_table()
    assert _row_text(panel, lead_id, STATE) == "Synced"


def test_status_shows_crm_and_queue(panel: StaffPanel, runtime, qtbot) -> None:
    lead_id = _save(runtime, "Ana", "ana@example.com")
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)
    qtbot.waitUntil(
        lambda: panel.status_view.crm_label.text() == "CRM: reachable", timeout=5000
    )
    qtbot.waitUntil(
        lambda: "1 synced" in panel.status_view.queue_label.text(), timeout=5000
    )
    assert "never" not in panel.status_view.last_sync_label.text()


@pytest.mark.expected_log("sync_daemon", "kiosk.runtime")
def test_demo_controls_offline_and_back(panel: StaffPanel, runtime, qtbot) -> None:
    assert panel.demo_controls is not None
    panel.demo_controls.offline_button.click()
    assert runtime.embedded_crm.faults()["down"] is True
    lead_id = _save(runtime, "Ana", "ana@example.com")
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "retry_wait", timeout=10000)
    qtbot.waitUntil(
        lambda: "not reachable" in panel.status_view.crm_label.text(), timeout=5000
    )
    panel.refresh_table()
    assert _row_text(panel, lead_id, STATE) == "Retrying"
    assert "server error (HTTP 503)" in _row_text(panel, lead_id, REASON)
    panel.demo_controls.offline_button.click()
    assert runtime.embedded_crm.faults()["down"] is False
    panel.sync_now_button.click()
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)
    qtbot.waitUntil(
        lambda: panel.status_view.crm_label.text() == "CRM: reachable", timeout=5000
    )


def test_demo_controls_set_errors_and_latency(panel: StaffPanel, runtime) -> None:
    controls = panel.demo_controls
    assert controls is not None
    controls.error_rate.setCurrentIndex(2)
    controls.latency.setValue(750)
    faults = runtime.embedded_crm.faults()
    assert faults["error_rate"] == pytest.approx(0.3)
    assert faults["latency_ms"] == 750
    assert "30% errors" in controls.summary.text()
    controls.error_rate.setCurrentIndex(0)
    controls.latency.setValue(0)
    assert runtime.embedded_crm.faults()["error_rate"] == 0.0


@pytest.mark.expected_log("sync_daemon")
def test_edit_and_requeue_stuck_lead(panel: StaffPanel, runtime, qtbot) -> None:
    lead_id = _save(runtime, "Ana", "not-an-email")
    qtbot.waitUntil(
        lambda: _state_of(runtime, lead_id) == "needs_attention", timeout=10000
    )
    panel.refresh_table()
    assert "Email" in _row_text(panel, lead_id, REASON)
    _select_lead(panel, lead_id)
    assert panel.edit_button.isEnabled()
    panel.edit_button.click()
    dialog = panel.edit_dialog
    assert dialog.isVisible()
    dialog.editors["email"].setText("ana@example.com")
    with qtbot.waitSignal(panel.lead_requeued, timeout=5000) as signal:
        dialog.accept()
    assert signal.args == [lead_id]
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)
    record = runtime.store.get_lead(lead_id)
    assert record.revision == 2
    assert record.fields["email"] == "ana@example.com"


@pytest.mark.expected_log("sync_daemon", "kiosk.runtime")
def test_retry_selected_requeues(panel: StaffPanel, runtime, qtbot) -> None:
    runtime.embedded_crm.set_faults(down=True)
    lead_id = _save(runtime, "Ana", "ana@example.com")
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "retry_wait", timeout=10000)
    runtime.embedded_crm.set_faults(down=False)
    panel.refresh_table()
    _select_lead(panel, lead_id)
    assert panel.retry_button.isEnabled()
    panel.retry_button.click()
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)


def test_export_then_import_csv(
    panel: StaffPanel, runtime, qtbot, tmp_path, monkeypatch
):
    _save(runtime, "Zoë", "zoe@example.com", "Müller & Söhne")
    _save(runtime, "Ana", "ana@example.com")
    target = tmp_path / "leads.csv"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "")
    )
    with qtbot.waitSignal(panel.job_finished, timeout=20000) as finished:
        panel.export_button.click()
        assert panel.progress.isVisible()
        assert not panel.export_button.isEnabled()
    name, ok, message = finished.args
    assert (name, ok) == ("export", True), message
    text = target.read_text(encoding="utf-8")
    assert "zoe@example.com" in text
    assert "Müller & Söhne" in text
    assert not panel.progress.isVisible()

    source = tmp_path / "new.csv"
    source.write_text(
        "first_name,last_name,email,company\n"
        "Inès,Lefèvre,ines@example.com,Atelier Brûlé\n"
        "Søren,Eriksen,soren@example.org,Nordlys AS\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(source), "")
    )
    with qtbot.waitSignal(panel.job_finished, timeout=20000) as finished:
        panel.import_button.click()
    name, ok, message = finished.args
    assert (name, ok) == ("import", True), message
    assert "2 new, 0 updated, 0 unchanged, 0 rejected" in message
    assert runtime.store.count_leads() == 4
    assert panel.model.rowCount() == 4
    assert runtime.store.count_leads(search="atelier") == 1


def test_import_uses_configured_region(qtbot, tmp_path: Path) -> None:
    config = parse_config({**FAST_SYNC, "capture": {"default_region": "GB"}})
    kiosk_runtime = Runtime(
        config, f"sqlite:///{tmp_path / 'leads.sqlite3'}", crm_data_dir=tmp_path / "crm"
    )
    staff = StaffPanel(kiosk_runtime, None)
    qtbot.addWidget(staff)
    source = tmp_path / "uk.csv"
    source.write_text(
        "first_name,email,phone\n"
        "Ana,ana@example.com,020 7946 0958\n"
        "Bob,bob@example.com,nonsense\n",
        encoding="utf-8",
    )
    try:
        with qtbot.waitSignal(staff.job_finished, timeout=20000) as finished:
            staff.import_csv(source)
        name, ok, message = finished.args
        assert (name, ok) == ("import", True), message
        assert "1 new, 0 updated, 0 unchanged, 1 rejected" in message
        assert "First rejected row: line 3" in message
        (lead_id,) = kiosk_runtime.store.lead_ids()
        assert kiosk_runtime.store.get_lead(lead_id).fields["phone"] == "+442079460958"
    finally:
        staff.shutdown()
        kiosk_runtime.close()


def test_import_reports_missing_file(panel: StaffPanel, qtbot, tmp_path) -> None:
    with qtbot.waitSignal(panel.job_finished, timeout=10000) as finished:
        panel.import_csv(tmp_path / "absent.csv")
    name, ok, _message = finished.args
    assert name == "import"
    assert not ok
    assert "Import failed" in panel.job_label.text()
    assert panel.import_button.isEnabled()


def test_crm_settings_test_connection(panel: StaffPanel, runtime, qtbot) -> None:
    dialog = panel.open_crm_settings()
    assert dialog.url.text() == runtime.crm_url
    dialog.operator_email.setText("staff@example.com")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert "accepted" in dialog.result_label.text()
    dialog.reject()


def test_connection_check_reports_unreachable() -> None:
    report = check_connection("http://127.0.0.1:9", "", "", timeout_s=2.0)
    assert not report.ok
    assert "unreachable" in report.lines[0]


def test_connection_check_signs_in_without_operator_email(runtime) -> None:
    report = check_connection(runtime.crm_url, "", "", timeout_s=5.0)
    assert report.ok, report.lines
    assert "accepted" in report.lines[-1]


def test_connection_check_reports_down_crm(runtime) -> None:
    runtime.embedded_crm.set_faults(down=True)
    report = check_connection(runtime.crm_url, "", "", timeout_s=2.0)
    assert not report.ok
    assert "HTTP 503" in report.lines[0]


def _status(oldest: datetime | None, reachable: bool | None = True) -> EngineStatus:
    stats = QueueStats(pending=3, retry_wait=2, synced=5, oldest_waiting_at=oldest)
    return EngineStatus(reachable, False, None, None, stats)


def test_stale_alert_banner(qtbot) -> None:
    view = SyncStatusView(stale_alert_minutes=15)
    qtbot.addWidget(view)
    now = datetime.now(UTC)
    view.show_status(_status(now - timedelta(minutes=16), reachable=False), now)
    assert not view.banner.isHidden()
    assert "16 min" in view.banner.text()
    assert "not reachable" in view.crm_label.text()
    assert "3 queued, 2 retrying" in view.queue_label.text()
    view.show_status(_status(now - timedelta(minutes=2)), now)
    assert view.banner.isHidden()
    view.show_status(_status(None), now)
    assert view.banner.isHidden()
    assert view.last_sync_label.text() == "Last successful sync: never"


def test_panel_stops_its_threads(runtime, qtbot) -> None:
    staff = StaffPanel(runtime, None)
    qtbot.addWidget(staff)
    staff.show()
    started = time.monotonic()
    staff.close()
    assert time.monotonic() - started < 10
    assert not staff._status_poller.is_running()
    assert not staff._table_timer.isActive()


def test_edit_dialog_shows_text_plainly(qtbot) -> None:
    fields = {"first_name": "<b>Ana</b>", "email": "ana@example.com", "rating": "hot"}
    dialog = EditLeadDialog(fields, reason="<i>Email</i> is invalid.")
    qtbot.addWidget(dialog)
    labels = dialog.findChildren(QLabel)
    reason = [label for label in labels if "is invalid" in label.text()]
    assert len(reason) == 1
    assert reason[0].textFormat() == Qt.TextFormat.PlainText
    assert dialog.editors["first_name"].text() == "<b>Ana</b>"
    dialog.editors["company"].setText(" Globex ")
    edited = dialog.fields()
    assert edited["company"] == "Globex"
    assert edited["rating"] == "hot"


def test_panel_fits_1024_screen(panel: StaffPanel) -> None:
    long_text = "A very long status message that must not widen the panel " * 5
    panel.status_view.queue_label.setText(long_text)
    panel.status_view.crm_label.setText(long_text)
    panel.job_label.setText(long_text)
    panel.crm_label.setText(long_text)
    assert panel.minimumSizeHint().width() <= 1024
    panel.resize(1024, 768)
    assert panel.width() <= 1024
    assert panel.job_label.toolTip() == long_text


def test_reason_column_last_and_stretching(panel: StaffPanel) -> None:
    header = panel.table.horizontalHeader()
    assert REASON == len(COLUMNS) - 1
    assert header.stretchLastSection()
    assert header.sectionResizeMode(REASON) == header.ResizeMode.Stretch
    assert panel.table.textElideMode() == Qt.TextElideMode.ElideRight


def _queue_status(**counts: int) -> EngineStatus:
    return EngineStatus(True, False, None, None, QueueStats(**counts))


def test_queue_counts_each_lead_once(qtbot) -> None:
    view = SyncStatusView(stale_alert_minutes=15)
    qtbot.addWidget(view)
    view.show_status(_queue_status(retry_wait=1))
    assert view.queue_label.text().startswith("Queue: 0 queued, 1 retrying,")
    view.show_status(_queue_status(pending=1, needs_attention=1))
    assert "1 queued, 0 retrying, 1 needs attention" in view.queue_label.text()
    view.show_status(_queue_status(needs_attention=2))
    assert "2 need attention" in view.queue_label.text()


def test_count_text_grammar() -> None:
    assert count_text(1, "row", "rows") == "1 row"
    assert count_text(2, "row", "rows") == "2 rows"
    assert count_text(0, "row", "rows") == "0 rows"


@pytest.mark.expected_log("sync_daemon", "kiosk.runtime")
def test_offline_shown_without_request(panel: StaffPanel, runtime, qtbot) -> None:
    lead_id = _save(runtime, "Ana", "ana@example.com")
    qtbot.waitUntil(lambda: _state_of(runtime, lead_id) == "synced", timeout=10000)
    label = panel.status_view.crm_label
    qtbot.waitUntil(lambda: label.text() == "CRM: reachable", timeout=5000)
    assert panel.demo_controls is not None

    panel.demo_controls.set_offline(True)
    # Nothing is queued, so only the panel's own health check can notice.
    qtbot.waitUntil(lambda: "not reachable" in label.text(), timeout=2000)
    qtbot.wait(1500)
    assert "not reachable" in label.text()

    panel.demo_controls.set_offline(False)
    qtbot.waitUntil(lambda: label.text() == "CRM: reachable", timeout=2000)


def test_probe_health_follows_faults(runtime) -> None:
    assert probe_health(runtime.crm_url)
    runtime.embedded_crm.set_faults(down=True)
    assert not probe_health(runtime.crm_url)
    assert not probe_health("http://127.0.0.1:9", timeout_s=1.0)


def test_edit_dialog_checks_email(qtbot) -> None:
    dialog = EditLeadDialog({"first_name": "Nora", "email": "nora@"})
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.request_save()
    assert dialog.result() == 0
    assert dialog.isVisible()
    assert dialog.email_problem.isVisible()
    assert "not a valid email" in dialog.email_problem.text()

    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.request_save()
    assert dialog.fields()["email"] == "nora@"


def test_edit_dialog_correction_clears_problem(qtbot) -> None:
    dialog = EditLeadDialog({"first_name": "Nora", "email": ""})
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.request_save()
    assert "missing" in dialog.email_problem.text()
    dialog.editors["email"].setText("Nora@Example.COM")
    assert not dialog.email_problem.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.request_save()
    assert dialog.fields()["email"] == "Nora@example.com"


def test_crm_dialog_names_config_file(qtbot, tmp_path: Path) -> None:
    config_file = tmp_path / "kiosk.toml"
    dialog = CrmSettingsDialog("http://127.0.0.1:9", config_path=str(config_file))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "CRM connection test"
    assert str(config_file) in dialog.source_label.text()
    assert "does not save" in dialog.source_label.text()


def test_crm_dialog_result_below_button(qtbot) -> None:
    dialog = CrmSettingsDialog("http://127.0.0.1:9")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog._on_test_failed("Invalid CRM address: " + "a long explanation " * 20)
    qtbot.waitUntil(lambda: dialog.result_label.height() > 40, timeout=2000)
    button_bottom = dialog.test_button.geometry().bottom()
    assert dialog.result_label.geometry().top() > button_bottom
    assert dialog.url.geometry().bottom() < dialog.api_key.geometry().top()
    assert dialog.height() >= dialog.minimumSizeHint().height()
