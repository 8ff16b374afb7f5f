"""Demo CRM controls start from the server's current fault settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acmecrm.embedded import RunningServer, start_server
from kiosk.gui.staff.demo_controls import DemoControls


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "crm.sqlite3")
    yield running
    running.stop()


def _controls(server: RunningServer, qtbot: Any) -> DemoControls:
    controls = DemoControls(server)
    qtbot.addWidget(controls)
    controls.show()
    return controls


def test_controls_show_offline_server(server: RunningServer, qtbot: Any) -> None:
    server.set_faults(down=True)

    controls = _controls(server, qtbot)

    assert controls.offline_button.isChecked()
    assert controls.offline_button.text() == "Bring CRM back"
    assert controls.summary.text() == "Demo CRM: offline"


def test_one_click_brings_crm_back(server: RunningServer, qtbot: Any) -> None:
    server.set_faults(down=True)
    controls = _controls(server, qtbot)

    controls.offline_button.click()

    assert server.faults()["down"] is False
    assert controls.offline_button.text() == "Take CRM offline"
    assert controls.summary.text() == "Demo CRM: online"


def test_controls_show_errors_and_latency(server: RunningServer, qtbot: Any) -> None:
    server.set_faults(error_rate=0.3, latency_ms=750)

    controls = _controls(server, qtbot)

    assert controls.error_rate.currentData() == pytest.approx(0.3)
    assert controls.latency.value() == 750
    assert not controls.offline_button.isChecked()
    assert controls.offline_button.text() == "Take CRM offline"


def test_building_controls_changes_no_fault(server: RunningServer, qtbot: Any) -> None:
    server.set_faults(down=True, error_rate=0.25, latency_ms=300)
    before = server.faults()

    controls = _controls(server, qtbot)

    assert server.faults() == before
    assert controls.error_rate.currentData() == pytest.approx(0.25)
