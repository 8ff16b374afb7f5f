"""``kiosk import`` run as a subprocess against a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.store import open_store
from sync_daemon import outbox


def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_all_rows_exits_0(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_bytes(
        b"\xef\xbb\xbffirst_name,last_name,email,company,rating\n"
        + "Zoë,Müller,zoe@example.com,Acme,hot\n".encode()
        + b"Liam,Xu,liam@example.org,'=Globex,\n"
    )
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"

    result = _kiosk("import", str(csv_path), "--db", url)

    store = open_store(url)
    rows = store.list_leads()
    pending = store.count_leads(state=outbox.PENDING)
    store.close()
    assert result.returncode == 0, result.stderr
    assert "Imported 2 of 2 rows" in result.stdout
    assert sorted(row.first_name for row in rows) == ["Liam", "Zoë"]
    assert {row.company for row in rows} == {"Acme", "=Globex"}
    assert pending == 2


def test_import_bad_rows_exits_1(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "first_name,email\nAna,ana@example.com\nBob,bob-at-example\n,\nCy,cy@example.com\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"

    result = _kiosk("import", str(csv_path), "--db", url)

    store = open_store(url)
    count = store.count_leads()
    store.close()
    assert result.returncode == 1
    assert f"{csv_path}: line 3: email is not a valid email address" in result.stderr
    assert "Imported 2 of 3 rows" in result.stdout
    assert "1 rejected" in result.stdout
    assert count == 2


def test_import_unknown_column_exits_1(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("name,email\nAna,ana@example.com\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"

    result = _kiosk("import", str(csv_path), "--db", url)

    assert result.returncode == 1
    assert "unknown column(s) 'name'" in result.stderr
    assert "accepted columns: first_name" in result.stderr
    assert result.stdout == ""


def test_import_missing_file_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    result = _kiosk("import", str(tmp_path / "absent.csv"), "--db", url)
    assert result.returncode == 1
    assert "CSV file not found" in result.stderr
    assert not (tmp_path / "leads.sqlite3").exists()
