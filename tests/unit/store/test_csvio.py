"""CSV import and export on real files and a real SQLite database."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kiosk.store import LeadStore, open_store
from kiosk.store.csvio import (
    EXPORT_COLUMNS,
    CsvFormatError,
    escape_cell,
    export_csv,
    import_csv,
    unescape_cell,
)
from sync_daemon import outbox

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LeadStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield opened
    opened.close()


def _write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((BOM if bom else b"") + text.encode("utf-8"))
    return path


def _read_export(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+33 1 23", "'+33 1 23"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("+12015550123", "+12015550123"),
        ("'=already", "''=already"),
        ("''+1", "'''+1"),
        ("'+12015550123", "''+12015550123"),
        ("'plain", "'plain"),
        ("O'Brien", "O'Brien"),
        ("", ""),
        ("plain", "plain"),
    ],
)
def test_escape_cell_round_trip(value: str, escaped: str) -> None:
    assert escape_cell(value) == escaped
    assert unescape_cell(escaped) == value


def test_round_trip_keeps_formulas_and_accents(
    store: LeadStore, tmp_path: Path
) -> None:
    store.save_lead(
        {
            "first_name": '=HYPERLINK("http://x")',
            "last_name": "Müller-Lüdenscheidt",
            "email": "jose@example.com",
            "phone": "+12015550123",
            "company": "@Acme",
            "notes": "-met at booth\nsecond line, with comma",
            "website": "https://example.com",
            "rating": "hot",
        }
    )
    exported = tmp_path / "out.csv"
    report = export_csv(exported, store)

    raw = exported.read_bytes()
    rows = _read_export(exported)
    assert report.exported == 1
    assert raw.startswith(BOM)
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert rows[0]["first_name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["company"] == "'@Acme"
    assert rows[0]["notes"].startswith("'-met")
    assert rows[0]["phone"] == "+12015550123"
    assert rows[0]["sync_state"] == outbox.PENDING
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600

    second = open_store(f"sqlite:///{tmp_path / 'second.sqlite3'}")
    imported = import_csv(exported, second)
    row = second.list_leads()[0]
    record = second.get_lead(row.lead_id)
    second.close()
    assert imported.imported == 1
    assert imported.rejected == ()
    assert record.fields["first_name"] == '=HYPERLINK("http://x")'
    assert record.fields["last_name"] == "Müller-Lüdenscheidt"
    assert record.fields["company"] == "@Acme"
    assert record.fields["notes"] == "-met at booth\nsecond line, with comma"
    assert record.fields["website"] == "https://example.com"
    assert record.captured_at.isoformat() == rows[0]["captured_at"]
    assert record.sync_state == outbox.PENDING


def test_export_reports_crm_id_and_sync_time(store: LeadStore, tmp_path: Path) -> None:
    saved = store.save_lead({"email": "ana@example.com"})
    t = outbox.outbox_table
    with store.engine.begin() as connection:
        connection.execute(
            update(t)
            .where(t.c.lead_id == saved.lead_id)
            .values(state=outbox.SYNCED, crm_id="acme-42", synced_at=saved.captured_at)
        )
    export_csv(tmp_path / "out.csv", store)
    row = _read_export(tmp_path / "out.csv")[0]
    assert row["lead_id"] == saved.lead_id
    assert row["sync_state"] == outbox.SYNCED
    assert row["crm_id"] == "acme-42"
    assert row["synced_at"] == saved.captured_at.isoformat()


def test_export_pages_through_many_leads(store: LeadStore, tmp_path: Path) -> None:
    from kiosk.store import csvio

    calls: list[tuple[int, int]] = []
    for index in range(25):
        store.save_lead({"email": f"lead{index}@example.com"})
    original = csvio.EXPORT_PAGE_SIZE
    csvio.EXPORT_PAGE_SIZE = 10
    try:
        report = export_csv(
            tmp_path / "out.csv", store, progress=lambda *a: calls.append(a)
        )
    finally:
        csvio.EXPORT_PAGE_SIZE = original
    rows = _read_export(tmp_path / "out.csv")
    assert report.exported == 25
    assert [row["email"] for row in rows] == [f"lead{i}@example.com" for i in range(25)]
    assert calls[-1] == (25, 25)
    assert (10, 25) in calls


def test_import_with_and_without_bom(store: LeadStore, tmp_path: Path) -> None:
    text = "first_name,email\nJosé,jose@example.com\n"
    with_bom = import_csv(_write(tmp_path / "a.csv", text, bom=True), store)
    without = import_csv(_write(tmp_path / "b.csv", text), store)
    names = [row.first_name for row in store.list_leads()]
    assert with_bom.imported == 1
    assert without.imported == 1
    assert names == ["José", "José"]


def test_import_reports_bad_rows_by_line(store: LeadStore, tmp_path: Path) -> None:
    text = (
        "first_name,email,rating,notes\n"  # line 1
        "Ana,ana@example.com,hot,fine\n"  # line 2
        "Bob,not-an-email,,\n"  # line 3
        "Carl,carl@example.com,lukewarm,\n"  # line 4
        "\n"  # line 5: blank, skipped
        'Dora,dora@example.com,,"two\nlines"\n'  # lines 6-7
        "Eve,eve@example.com\n"  # line 8: too few cells
        ",,,\n"  # line 9: blank cells only, skipped
        "Finn,finn@example.com,cold,\n"  # line 10
    )
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    assert report.imported == 3
    assert [row.line for row in report.rejected] == [3, 4, 8]
    assert "email" in report.rejected[0].reason
    assert "lukewarm" in report.rejected[1].reason
    assert "2 cells" in report.rejected[2].reason
    assert store.count_leads() == 3
    assert store.count_leads(state=outbox.PENDING) == 3


def test_import_rejects_row_without_contact_details(
    store: LeadStore, tmp_path: Path
) -> None:
    text = "first_name,notes\n,just a note\n"
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    assert report.imported == 0
    assert report.rejected[0].line == 2
    assert "no name, email" in report.rejected[0].reason


def test_import_bad_times_and_answers(store: LeadStore, tmp_path: Path) -> None:
    text = (
        "email,consent_at,captured_at,answers\n"
        "a@example.com,yesterday,,\n"
        "b@example.com,,2026-13-01,\n"
        "c@example.com,,,{not json\n"
        "d@example.com,2026-05-04T10:42:00Z,2026-05-04T10:40:00+02:00,"
        '"{""budget"": ""yes""}"\n'
    )
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    assert [row.line for row in report.rejected] == [2, 3, 4]
    assert "consent_at" in report.rejected[0].reason
    assert "captured_at" in report.rejected[1].reason
    assert "JSON" in report.rejected[2].reason
    record = store.get_lead(store.list_leads()[0].lead_id)
    assert record.fields["answers"] == {"budget": "yes"}
    assert record.captured_at.isoformat() == "2026-05-04T08:40:00+00:00"


def test_import_unknown_header_names_columns(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv", "First Name,colour,email\nAna,red,a@example.com\n"
    )
    with pytest.raises(CsvFormatError) as caught:
        import_csv(path, store)
    message = str(caught.value)
    assert "'first name'" in message
    assert "'colour'" in message
    assert "first_name" in message.split("accepted columns:")[1]
    assert store.count_leads() == 0


def test_import_not_utf8_saves_nothing(store: LeadStore, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    good_rows = "".join(f"Ana {i},ana{i}@example.com\n" for i in range(600))
    path.write_bytes(
        b"first_name,email\n"
        + good_rows.encode()
        + "Jos\u00e9,j@example.com\n".encode("latin-1")
    )
    with pytest.raises(CsvFormatError, match="UTF-8") as caught:
        import_csv(path, store)
    assert "line 602 " in str(caught.value)
    assert store.count_leads() == 0


def test_import_empty_file_has_no_header(store: LeadStore, tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError, match="no header"):
        import_csv(_write(tmp_path / "in.csv", ""), store)


def test_import_in_batches_with_progress(store: LeadStore, tmp_path: Path) -> None:
    lines = ["first_name,email"] + [f"Lead {i},lead{i}@example.com" for i in range(23)]
    calls: list[tuple[int, int]] = []
    report = import_csv(
        _write(tmp_path / "in.csv", "\n".join(lines) + "\n"),
        store,
        progress=lambda done, total: calls.append((done, total)),
        batch_size=10,
    )
    t = outbox.outbox_table
    with store.engine.connect() as connection:
        keys = connection.execute(select(t.c.idempotency_key)).scalars().all()
    assert report.imported == 23
    assert calls == [(10, 23), (20, 23), (23, 23)]
    assert len(keys) == 23
    assert all(key.endswith(":1") for key in keys)
