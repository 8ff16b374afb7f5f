"""Windowed burst: the GUI thread's longest stall during a burst of 100 scans.

Runs the "Simulate 100 scans" window (:class:`kiosk.gui.burst_dialog.BurstDialog`) on a
real display, with the sync engine in its own thread against the embedded AcmeCRM, and
reports the burst's figures plus ``gui_stall_ms_max`` from the QTimer heartbeat. With
``--screenshots DIR`` the staff panel stays open during the burst (its pollers and
charts then run too), and ``burst.png``, ``staff.png`` and ``metrics.png`` are saved.

Run under Xvfb:

    Xvfb :98 -screen 0 1280x800x24 &
    DISPLAY=:98 QT_QPA_PLATFORM=xcb python benchmarks/burst_gui.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from kiosk.config import parse_config
from kiosk.gui.burst_dialog import DEFAULT_WORKERS, STALL_LIMIT_MS, BurstDialog
from kiosk.gui.staff.staff_panel import StaffPanel
from kiosk.runtime import Runtime

BURST_TIMEOUT_S = 300.0


def run_one(runtime: Runtime, count: int, workers: int = 4) -> tuple[BurstDialog, Any]:
    """Run one burst in a shown dialog; return the dialog and its result."""
    dialog = BurstDialog(runtime, count, workers=workers)
    dialog.show()
    loop = QEventLoop()
    dialog.burst_finished.connect(lambda _result: loop.quit())
    QTimer.singleShot(BURST_TIMEOUT_S * 1000, loop.quit)
    QTimer.singleShot(0, dialog.start)
    loop.exec()
    if dialog.is_running():
        raise SystemExit(f"The burst did not finish within {BURST_TIMEOUT_S:.0f} s.")
    return dialog, dialog.burst_result


def wait(app: QApplication, seconds: float) -> None:
    """Run the event loop for ``seconds`` so windows paint and pollers report."""
    del app
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def open_staff_panel(runtime: Runtime) -> StaffPanel:
    """Open the staff panel, so its charts sample the queue during the burst."""
    panel = StaffPanel(runtime, None)
    panel.resize(1280, 800)
    panel.show()
    return panel


def take_screenshots(
    app: QApplication,
    runtime: Runtime,
    panel: StaffPanel,
    dialog: BurstDialog,
    folder: Path,
) -> None:
    """Save the burst result, the staff panel and the metrics panel as PNG files.

    Before the staff panel is captured, one lead the CRM rejects and one lead sent
    while the demo CRM is offline are added, so the list shows a reason for each.
    """
    folder.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(folder / "burst.png"))
    dialog.close()
    runtime.save_lead(
        {"first_name": "Noël", "last_name": "Brontë", "email": "noel.bronte@invalid"}
    )
    wait(app, 2.0)
    assert panel.demo_controls is not None
    panel.demo_controls.set_offline(True)
    runtime.save_lead(
        {
            "first_name": "Søren",
            "last_name": "Nørgaard",
            "email": "soren@example.org",
            "company": "Nordlys AS",
        }
    )
    wait(app, 4.0)
    panel.refresh_table()
    wait(app, 1.5)
    panel.grab().save(str(folder / "staff.png"))
    panel.tabs.setCurrentIndex(1)
    panel.metrics_panel.refresh()
    wait(app, 3.0)
    panel.grab().save(str(folder / "metrics.png"))
    panel.demo_controls.set_offline(False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="scans per burst")
    parser.add_argument("--runs", type=int, default=1, help="bursts to run")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"threads decoding and saving at once (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("--screenshots", type=Path, help="folder for PNG screenshots")
    args = parser.parse_args()

    if os.environ.get("QT_QPA_PLATFORM", "") == "offscreen":
        print("note: offscreen platform, not a real display", file=sys.stderr)
    app = QApplication.instance() or QApplication(sys.argv[:1])

    results = []
    with tempfile.TemporaryDirectory(prefix="kiosk-burst-gui-") as folder:
        db_url = f"sqlite:///{Path(folder) / 'leads.sqlite3'}"
        with Runtime(parse_config({}), db_url, crm_data_dir=Path(folder) / "crm") as rt:
            rt.start_sync_thread()
            panel = open_staff_panel(rt) if args.screenshots is not None else None
            wait(app, 1.0)
            dialog = None
            for _ in range(args.runs):
                dialog, result = run_one(rt, args.count, args.workers)
                figures = result.to_json_dict()
                meter = dialog.stall_meter
                figures["gui_stall_at_s"] = round(meter.max_stall_at_s, 3)
                figures["gui_stall_rendering_ms"] = dialog.render_stall_ms
                results.append(figures)
                print(json.dumps(results[-1]), file=sys.stderr)
                wait(app, 0.5)
            if panel is not None and dialog is not None:
                take_screenshots(app, rt, panel, dialog, args.screenshots)
            if panel is not None:
                panel.close()

    stalls = [result["gui_stall_ms_max"] for result in results]
    summary = {
        "platform": app.platformName(),
        "runs": results,
        "gui_stall_ms_max": max(stalls),
        "gui_stall_ms_median": statistics.median(stalls),
        "stall_limit_ms": STALL_LIMIT_MS,
    }
    print(json.dumps(summary, indent=2))
    complete = all(r["saved"] == r["count"] == r["synced"] for r in results)
    return 0 if complete and max(stalls) < STALL_LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
