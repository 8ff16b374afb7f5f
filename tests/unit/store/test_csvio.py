"""CSV import and export on real files and a real SQLite database."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kiosk.errors import KioskError
from kiosk.store import LeadStore, open_store
from kiosk.store.csvio import (
    EXPORT_COLUMNS,
    MAX_CELL_CHARS,
    CsvFormatError,
    escape_cell,
    export_csv,
    import_csv,
    open_csv_store,
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
        ("+12015550123", "'+12015550123"),
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


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("+12015550123", "+12015550123"),
        ("+1", "'+1"),
        ("+12015550123+SUM(1)", "'+12015550123+SUM(1)"),
        ("-12015550123", "'-12015550123"),
        ("'+12015550123", "''+12015550123"),
    ],
)
def test_escape_cell_phone_keeps_e164(value: str, escaped: str) -> None:
    assert escape_cell(value, phone=True) == escaped
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
    from kiosk.store import csv_export

    calls: list[tuple[int, int]] = []
    for index in range(25):
        store.save_lead({"email": f"lead{index}@example.com"})
    original = csv_export.EXPORT_PAGE_SIZE
    csv_export.EXPORT_PAGE_SIZE = 10
    try:
        report = export_csv(
            tmp_path / "out.csv", store, progress=lambda *a: calls.append(a)
        )
    finally:
        csv_export.EXPORT_PAGE_SIZE = original
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
    assert with_bom.created == 1
    assert without.unchanged == 1
    assert names == ["José"]


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


def _outbox_rows(store: LeadStore) -> list[tuple[str, int, str]]:
    t = outbox.outbox_table
    query = select(t.c.lead_id, t.c.revision, t.c.state).order_by(t.c.id)
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_import_twice_adds_nothing(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv",
        "first_name,email,company\nAna,ana@example.com,Acme\nBo,bo@example.org,\n",
    )
    first = import_csv(path, store)
    second = import_csv(path, store)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert second.imported == 2
    assert store.count_leads() == 2
    assert len(_outbox_rows(store)) == 2


def test_reimport_own_export_adds_nothing(store: LeadStore, tmp_path: Path) -> None:
    store.save_lead({"first_name": "Ana", "email": "ana@example.com"})
    store.save_lead({"first_name": "Bo", "badge_id": "B-7", "phone": "+12015550123"})
    export_csv(tmp_path / "out.csv", store)
    report = import_csv(tmp_path / "out.csv", store)
    assert report.unchanged == 2
    assert report.created == 0
    assert store.count_leads() == 2
    assert len(_outbox_rows(store)) == 2


def test_import_prefers_lead_id_column(store: LeadStore, tmp_path: Path) -> None:
    saved = store.save_lead({"first_name": "Ana", "email": "ana@example.com"})
    other = store.save_lead({"first_name": "Bea", "email": "bea@example.com"})
    export_csv(tmp_path / "out.csv", store)
    rows = _read_export(tmp_path / "out.csv")
    rows[0]["email"] = "ana.new@example.com"
    rows[1]["email"] = "ana@example.com"  # the first lead's old email
    with (tmp_path / "edited.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    report = import_csv(tmp_path / "edited.csv", store)

    assert report.updated == 2
    assert store.count_leads() == 2
    assert store.get_lead(saved.lead_id).fields["email"] == "ana.new@example.com"
    assert store.get_lead(other.lead_id).fields["email"] == "ana@example.com"


def test_import_unknown_lead_id_merges_by_email(
    store: LeadStore, tmp_path: Path
) -> None:
    saved = store.save_lead({"first_name": "Ana", "email": "ana@example.com"})
    path = _write(
        tmp_path / "in.csv",
        "lead_id,email,title\n"
        "00000000-0000-4000-8000-000000000000,ANA@example.com,CTO\n",
    )
    report = import_csv(path, store)
    record = store.get_lead(saved.lead_id)
    assert report.updated == 1
    assert store.count_leads() == 1
    assert record.fields["title"] == "CTO"


def test_import_updates_without_clearing(store: LeadStore, tmp_path: Path) -> None:
    saved = store.save_lead(
        {"first_name": "Ana", "email": "Ana@Example.com", "company": "Acme"}
    )
    path = _write(
        tmp_path / "in.csv",
        "first_name,email,company,title\n,ana@EXAMPLE.com,,CTO\n",
    )
    report = import_csv(path, store)
    record = store.get_lead(saved.lead_id)
    assert report.updated == 1
    assert record.revision == 2
    assert record.fields["first_name"] == "Ana"
    assert record.fields["company"] == "Acme"
    assert record.fields["title"] == "CTO"
    assert record.sync_state == outbox.PENDING
    states = [state for _lead, _revision, state in _outbox_rows(store)]
    assert states == [outbox.SUPERSEDED, outbox.PENDING]


def test_import_merges_rows_of_one_file(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv",
        "first_name,email,company,badge_id\n"
        "Dup,dup@example.com,,\n"
        "Dup2,DUP@example.com,Acme,B-1\n"
        "Dup2,dup@example.com,,\n"
        ",,,B-1\n"
        "Cy,,Initech,B-1\n",
    )
    report = import_csv(path, store)
    rows = store.list_leads()
    record = store.get_lead(rows[0].lead_id)
    # Row 4 changes the email's case; row 5 repeats the badge id and nothing else.
    assert (report.created, report.updated, report.unchanged) == (1, 3, 1)
    assert len(rows) == 1
    assert record.fields["first_name"] == "Cy"
    assert record.fields["company"] == "Initech"
    assert record.fields["badge_id"] == "B-1"
    assert record.revision == 1
    assert len(_outbox_rows(store)) == 1


def test_import_merges_across_batches(store: LeadStore, tmp_path: Path) -> None:
    lines = ["first_name,email"] + [
        f"Lead {i},lead{i % 3}@example.com" for i in range(7)
    ]
    report = import_csv(
        _write(tmp_path / "in.csv", "\n".join(lines) + "\n"), store, batch_size=2
    )
    assert report.created == 3
    assert report.updated == 4
    assert store.count_leads() == 3


def test_import_merges_by_badge_id(store: LeadStore, tmp_path: Path) -> None:
    saved = store.save_lead({"first_name": "Ana", "badge_id": "A-5521"})
    path = _write(tmp_path / "in.csv", "badge_id,email\nA-5521,ana@example.com\n")
    report = import_csv(path, store)
    assert report.updated == 1
    assert store.get_lead(saved.lead_id).fields["email"] == "ana@example.com"
    assert store.count_leads() == 1


def test_import_looks_up_keys_per_batch(store: LeadStore, tmp_path: Path) -> None:
    from sqlalchemy import event

    for index in range(40):
        store.save_lead({"email": f"lead{index}@example.com", "badge_id": f"B{index}"})
    lines = ["email,badge_id,title"] + [
        f"lead{i}@example.com,B{i},CTO" for i in range(40)
    ]
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "leads" in statement:
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        report = import_csv(_write(tmp_path / "in.csv", "\n".join(lines)), store)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    per_row = [s for s in statements if "email_key = " in s or "badge_id = " in s]
    assert report.updated == 40
    assert per_row == []
    # One lookup by email and one by badge id, in the transaction that writes.
    assert len(statements) == 2


def test_import_unclosed_quote_names_line(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv",
        'first_name,email\nAna,ana@example.com\n"Unclosed,uq@example.com\n'
        "Next,next@example.com\n",
    )
    report = import_csv(path, store)
    assert report.created == 1
    assert report.rows == 2
    assert [row.line for row in report.rejected] == [3]
    reason = report.rejected[0].reason
    assert "closing quote is missing" in reason
    assert "lines 3 to 4" in reason


def test_import_multiline_row_hints_quotes(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv",
        'first_name,email\n"Ana,ana@example.com\nBo",bo@example.com,x\n',
    )
    report = import_csv(path, store)
    assert [row.line for row in report.rejected] == [2]
    assert "3 cells" in report.rejected[0].reason
    assert "quote is closed" in report.rejected[0].reason


def test_import_too_long_cell_rejects_row(store: LeadStore, tmp_path: Path) -> None:
    long_cell = "x" * (MAX_CELL_CHARS + 1)
    text = (
        "first_name,email,notes\n"  # line 1
        f"Ana,ana@example.com,{long_cell}\n"  # line 2: unquoted
        "Bo,bo@example.com,fine\n"  # line 3
        f'Cy,cy@example.com,"{long_cell}\nsecond, line\n"\n'  # lines 4-6: quoted
        "Di,di@example.com,\n"  # line 7
        f"Ed,ed@example.com,{'y' * 9_000}\n"  # line 8: long, within the CRM's limit
    )
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    emails = sorted(row.email for row in store.list_leads())
    assert [row.line for row in report.rejected] == [2, 4]
    assert "longer than the maximum" in report.rejected[0].reason
    assert report.created == 3
    assert report.rows == 5
    assert emails == ["bo@example.com", "di@example.com", "ed@example.com"]


def test_import_normalizes_phones(store: LeadStore, tmp_path: Path) -> None:
    text = (
        "first_name,email,phone,fax\n"
        "Ana,ana@example.com,(201) 555-0126 x12,201 555 0199\n"
        "Bo,bo@example.com,+1,\n"
        "Cy,cy@example.com,+12015550123+SUM(1),\n"
        "Di,di@example.com,,+1\n"
    )
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    record = store.get_lead(store.list_leads()[0].lead_id)
    assert report.created == 1
    assert [row.line for row in report.rejected] == [3, 4, 5]
    assert "phone is not a valid phone number" in report.rejected[0].reason
    assert "fax is not a valid phone number" in report.rejected[2].reason
    assert record.fields["phone"] == "+12015550126"
    assert record.fields["phone_ext"] == "12"
    assert record.fields["fax"] == "+12015550199"


def test_import_phone_default_region(store: LeadStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "email,phone\nana@example.com,020 7946 0958\n")
    import_csv(path, store, default_region="gb")
    assert store.list_leads()[0].phone == "+442079460958"


def test_import_rejects_invalid_other_email(store: LeadStore, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.csv", "email,other_emails\nana@example.com,a@example.org;nope\n"
    )
    report = import_csv(path, store)
    assert "other_emails is not a valid email" in report.rejected[0].reason


def test_import_rejects_values_over_crm_limits(
    store: LeadStore, tmp_path: Path
) -> None:
    company = "C" * 201
    notes = "n" * 10_001
    text = (
        "email,company,notes\n"
        f"ana@example.com,{company},\n"
        f"bo@example.com,Acme,{notes}\n"
        "cy@example.com,Acme,short\n"
    )
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    reasons = [row.reason for row in report.rejected]
    assert [row.line for row in report.rejected] == [2, 3]
    assert "company is 201 characters" in reasons[0]
    assert "at most 10000" in reasons[1]
    assert [lead.email for lead in store.list_leads()] == ["cy@example.com"]


def test_import_directory_is_an_error(store: LeadStore, tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError, match="is a directory"):
        import_csv(tmp_path, store)


def test_export_keeps_file_order(store: LeadStore, tmp_path: Path) -> None:
    from kiosk.store import csv_export

    names = [f"Lead {index:02d}" for index in range(25)]
    lines = ["first_name", *names[::-1]]
    import_csv(_write(tmp_path / "in.csv", "\n".join(lines) + "\n"), store)
    original = csv_export.EXPORT_PAGE_SIZE
    csv_export.EXPORT_PAGE_SIZE = 10
    try:
        report = export_csv(tmp_path / "out.csv", store)
    finally:
        csv_export.EXPORT_PAGE_SIZE = original
    rows = _read_export(tmp_path / "out.csv")
    assert report.exported == 25
    assert len({row["captured_at"] for row in rows}) == 1
    assert [row["first_name"] for row in rows] == names[::-1]


def test_export_escapes_e164_outside_phone(store: LeadStore, tmp_path: Path) -> None:
    store.save_lead({"phone": "+12015550123", "company": "+12015550123"})
    export_csv(tmp_path / "out.csv", store)
    row = _read_export(tmp_path / "out.csv")[0]
    assert row["phone"] == "+12015550123"
    assert row["company"] == "'+12015550123"


def test_export_to_directory_fails(store: LeadStore, tmp_path: Path) -> None:
    with pytest.raises(KioskError, match="it is a directory"):
        export_csv(tmp_path, store)


def test_export_to_missing_folder_fails(store: LeadStore, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    target = blocker / "out.csv"
    with pytest.raises(KioskError, match=f"Cannot write {target}"):
        export_csv(target, store)


def test_open_csv_store_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite3"
    with pytest.raises(KioskError, match="Database not found"):
        open_csv_store(f"sqlite:///{path}", must_exist=True)
    assert not path.exists()


def test_open_csv_store_creates_for_import(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    store, created = open_csv_store(url, must_exist=False)
    store.close()
    again, created_again = open_csv_store(url, must_exist=True)
    again.close()
    assert created
    assert not created_again


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bogus://x", "Invalid database URL bogus://x"),
        ("not a url", "Invalid database URL 'not a url'"),
        ("postgresql://kiosk:secret@127.0.0.1:1/x", "***"),
    ],
)
def test_open_csv_store_bad_url(url: str, message: str) -> None:
    with pytest.raises(KioskError) as caught:
        open_csv_store(url, must_exist=True)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


def test_import_update_keeps_synced_revision(store: LeadStore, tmp_path: Path) -> None:
    saved = store.save_lead({"first_name": "Ana", "email": "ana@example.com"})
    t = outbox.outbox_table
    with store.engine.begin() as connection:
        connection.execute(
            update(t)
            .where(t.c.lead_id == saved.lead_id)
            .values(state=outbox.SYNCED, crm_id="acme-42", synced_at=saved.captured_at)
        )
    path = _write(tmp_path / "in.csv", "email,title\nana@example.com,CTO\n")
    report = import_csv(path, store)
    record = store.get_lead(saved.lead_id)
    states = [(revision, state) for _lead, revision, state in _outbox_rows(store)]
    assert report.updated == 1
    assert states == [(1, outbox.SYNCED), (2, outbox.PENDING)]
    assert record.crm_id == "acme-42"
    assert record.fields["title"] == "CTO"
    assert record.fields["first_name"] == "Ana"


def test_import_long_unclosed_quote_names_line(
    store: LeadStore, tmp_path: Path
) -> None:
    filler = "".join(f"Row {i},row{i}@example.com\n" for i in range(60_000))
    text = f'first_name,email\nAna,ana@example.com\n"Unclosed,uq@example.com\n{filler}'
    report = import_csv(_write(tmp_path / "in.csv", text), store)
    assert report.created == 1
    assert [row.line for row in report.rejected] == [3]
    assert "closing quote is missing" in report.rejected[0].reason
    assert "lines 3 to 60003" in report.rejected[0].reason
