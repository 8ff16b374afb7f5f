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
    assert "Exported 1 lead to" in export.stdout
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


def test_export_reimport_adds_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = open_store(url)
    store.save_lead({"first_name": "Ana", "email": "ana@example.com"})
    store.save_lead({"first_name": "Bo", "email": "bo@example.org"})
    store.close()
    exported = tmp_path / "export.csv"

    export = _kiosk("export", str(exported), "--db", url)
    imported = _kiosk("import", str(exported), "--db", url)

    store = open_store(url)
    count = store.count_leads()
    store.close()
    assert export.returncode == 0, export.stderr
    assert "Exported 2 leads" in export.stdout
    assert imported.returncode == 0, imported.stderr
    assert "0 new, 0 updated, 2 unchanged" in imported.stdout
    assert count == 2


def test_export_empty_database(tmp_path: Path) -> None:
    exported = tmp_path / "export.csv"
    open_store(f"sqlite:///{tmp_path / 'db'}").close()
    result = _kiosk("export", str(exported), "--db", f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode == 0, result.stderr
    assert "Exported 0 leads" in result.stdout
    assert exported.read_text(encoding="utf-8-sig").splitlines() == [
        ",".join(EXPORT_COLUMNS)
    ]


def test_export_missing_database_exits_1(tmp_path: Path) -> None:
    database = tmp_path / "never-created.sqlite3"
    exported = tmp_path / "export.csv"
    result = _kiosk("export", str(exported), "--db", f"sqlite:///{database}")
    assert result.returncode == 1
    assert f"Database not found: {database}" in result.stderr
    assert not database.exists()
    assert not exported.exists()


def test_export_to_directory_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    open_store(url).close()
    result = _kiosk("export", str(tmp_path), "--db", url)
    assert result.returncode == 1
    assert f"Cannot write {tmp_path}: it is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_unwritable_path_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    open_store(url).close()
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    result = _kiosk("export", str(blocker / "export.csv"), "--db", url)
    assert result.returncode == 1
    assert "Cannot write" in result.stderr
    assert "Not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_bad_database_url_exits_1(tmp_path: Path) -> None:
    result = _kiosk("export", str(tmp_path / "x.csv"), "--db", "bogus://x")
    assert result.returncode == 1
    assert "Invalid database URL bogus://x" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_help_explains_phone_exception() -> None:
    result = _kiosk("export", "--help")
    assert result.returncode == 0
    assert "in the phone column" in " ".join(result.stdout.split())
