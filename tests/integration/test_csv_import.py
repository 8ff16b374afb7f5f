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
    assert "Read 2 rows" in result.stdout
    assert "2 new, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    assert "Created a new database" in result.stderr
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
    assert "Read 3 rows" in result.stdout
    assert "2 new, 0 updated, 0 unchanged, 1 rejected" in result.stdout
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


def test_import_twice_merges_rows(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "first_name,email,phone\n"
        "Dup,dup@example.com,201-555-0126\n"
        "Dup2,DUP@example.com,\n"
        "Ana,ana@example.org,\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"

    first = _kiosk("import", str(csv_path), "--db", url)
    second = _kiosk("import", str(csv_path), "--db", url)

    store = open_store(url)
    rows = store.list_leads()
    pending = store.count_leads(state=outbox.PENDING)
    store.close()
    assert first.returncode == 0, first.stderr
    assert "2 new, 1 updated, 0 unchanged" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "0 new, 0 updated, 3 unchanged" in second.stdout
    assert "Created a new database" not in second.stderr
    assert len(rows) == 2
    assert pending == 2
    assert {row.phone for row in rows} == {"+12015550126", ""}


def test_import_directory_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    result = _kiosk("import", str(tmp_path), "--db", url)
    assert result.returncode == 1
    assert "is a directory" in result.stderr
    assert "not found" not in result.stderr
    assert "Traceback" not in result.stderr


def test_import_bad_database_url_exits_1(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("email\nana@example.com\n", encoding="utf-8")
    result = _kiosk("import", str(csv_path), "--db", "bogus://x")
    assert result.returncode == 1
    assert "Invalid database URL bogus://x" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_unclosed_quote_exits_1(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        'first_name,email\n"Unclosed,uq@example.com\nNext,next@example.com\n',
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    result = _kiosk("import", str(csv_path), "--db", url)
    assert result.returncode == 1
    assert f"{csv_path}: line 2: a quoted field starts on this line" in result.stderr
    assert "closing quote is missing" in result.stderr
    assert "lines 2 to 3" in result.stderr


def test_import_region_from_config(tmp_path: Path) -> None:
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("email,phone\nana@example.com,020 7946 0958\n", "utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[capture]\ndefault_region = "GB"\n', encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"

    result = _kiosk("import", str(csv_path), "--db", url, "--config", str(config))

    store = open_store(url)
    rows = store.list_leads()
    store.close()
    assert result.returncode == 0, result.stderr
    assert rows[0].phone == "+442079460958"
