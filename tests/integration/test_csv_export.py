"""``kiosk export`` run as a subprocess, and re-imported by ``kiosk import``."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from kiosk.store import open_store
from kiosk.store.csvio import EXPORT_COLUMNS


def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_export_then_import_round_trip(tmp_path: Path) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    store = open_store(source_url)
    saved = store.save_lead(
        {
            "first_name": "=cmd|' /C calc'!A0",
            "last_name": "Núñez",
            "email": "nunez@example.com",
            "phone": "+34911234567",
            "notes": "+1 follow up",
            "rating": "warm",
        }
    )
    store.close()
    exported = tmp_path / "export.csv"

    export = _kiosk("export", str(exported), "--db", source_url)

    assert export.returncode == 0, export.stderr
    assert "Exported 1 leads" in export.stdout
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    with exported.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["lead_id"] == saved.lead_id
    assert row["first_name"] == "'=cmd|' /C calc'!A0"
    assert row["phone"] == "+34911234567"
    assert row["notes"] == "'+1 follow up"
    assert row["sync_state"] == "pending"

    target_url = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    imported = _kiosk("import", str(exported), "--db", target_url)
    target = open_store(target_url)
    record = target.get_lead(target.list_leads()[0].lead_id)
    target.close()
    assert imported.returncode == 0, imported.stderr
    assert record.fields["first_name"] == "=cmd|' /C calc'!A0"
    assert record.fields["notes"] == "+1 follow up"
    assert record.fields["last_name"] == "Núñez"
    assert record.lead_id != saved.lead_id


def test_export_empty_database(tmp_path: Path) -> None:
    exported = tmp_path / "export.csv"
    result = _kiosk("export", str(exported), "--db", f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode == 0, result.stderr
    assert exported.read_text(encoding="utf-8-sig").splitlines() == [
        ",".join(EXPORT_COLUMNS)
    ]
