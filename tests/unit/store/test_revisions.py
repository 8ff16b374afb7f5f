"""LeadStore.save_revisions: merges by key, outbox rows and the write lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from kiosk.store import LeadStore, open_store
from kiosk.store.csvio import import_csv
from kiosk.store.revisions import LeadChange, RevisionReport
from sync_daemon import outbox

SCAN_WAIT_S = 0.5
"""How long the lookup hook gives a concurrent scan to commit inside the window."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LeadStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield opened
    opened.close()


def _outbox_states(store: LeadStore, lead_id: str) -> list[tuple[int, str]]:
    table = outbox.outbox_table
    query = (
        select(table.c.revision, table.c.state)
        .where(table.c.lead_id == lead_id)
        .order_by(table.c.revision)
    )
    with store.reader_session() as session:
        return [
            (int(revision), str(state)) for revision, state in session.execute(query)
        ]


def test_save_revisions_creates_and_merges(store: LeadStore) -> None:
    saved = store.save_lead({"email": "Ana@Example.com", "company": "Acme"})
    report = store.save_revisions(
        [
            LeadChange({"email": "ana@example.com", "title": "CTO"}),
            LeadChange({"email": "bob@example.org", "first_name": "Bob"}),
            LeadChange({"email": "ana@example.com", "company": ""}),
        ]
    )
    assert report == RevisionReport(created=1, updated=2, unchanged=0)
    record = store.get_lead(saved.lead_id)
    assert record.revision == 2
    assert record.fields["title"] == "CTO"
    assert record.fields["company"] == ""
    assert store.count_leads() == 2
    assert _outbox_states(store, saved.lead_id) == [
        (1, outbox.SUPERSEDED),
        (2, outbox.PENDING),
    ]


def test_save_revisions_unchanged_writes_nothing(store: LeadStore) -> None:
    saved = store.save_lead({"email": "ana@example.com", "badge_id": "B7"})
    report = store.save_revisions([LeadChange({"badge_id": "B7"})])
    assert report == RevisionReport(created=0, updated=0, unchanged=1)
    assert store.get_lead(saved.lead_id).revision == 1
    assert len(_outbox_states(store, saved.lead_id)) == 1


def test_save_revisions_by_lead_id(store: LeadStore) -> None:
    saved = store.save_lead({"email": "ana@example.com"})
    report = store.save_revisions(
        [LeadChange({"email": "ana.new@example.com"}, lead_id=saved.lead_id)]
    )
    assert report.updated == 1
    assert store.get_lead(saved.lead_id).fields["email"] == "ana.new@example.com"
    assert store.count_leads() == 1


def test_save_revisions_invalid_saves_nothing(store: LeadStore) -> None:
    store.save_lead({"email": "ana@example.com"})
    with pytest.raises(ValueError, match="rating"):
        store.save_revisions(
            [
                LeadChange({"email": "bob@example.org"}),
                LeadChange({"email": "ana@example.com", "rating": "lukewarm"}),
            ]
        )
    assert store.count_leads() == 1


def test_save_lead_keeps_payload_key(store: LeadStore) -> None:
    saved = store.save_lead({"email": "ana@example.com"}, payload_text="BEGIN:VCARD")
    store.save_lead({"title": "CTO"}, lead_id=saved.lead_id)
    found = store.find_duplicate(payload_text="BEGIN:VCARD")
    assert found is not None
    assert found.lead_id == saved.lead_id


def test_scan_in_import_window_merges(store: LeadStore, tmp_path: Path) -> None:
    """A scan saving the same email during the import's lookup adds no second lead.

    The hook runs on the import's lookup query and starts a scan's save of the same
    visitor. The import holds the write lock from before the lookup, so the scan
    waits and then merges into the imported lead. A lookup outside the write
    transaction would let the scan commit first and the import add a second lead.
    """
    source = tmp_path / "in.csv"
    source.write_text("first_name,email\nAna,ana@example.com\n", encoding="utf-8")
    scan_reports: list[RevisionReport] = []
    scans: list[threading.Thread] = []
    scan_committed = threading.Event()

    def scan() -> None:
        change = LeadChange({"email": "ANA@example.com", "title": "CTO"})
        scan_reports.append(store.save_revisions([change]))
        scan_committed.set()

    def on_lookup(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "email_key IN" in statement and not scans:
            scans.append(threading.Thread(target=scan))
            scans[0].start()
            scan_committed.wait(SCAN_WAIT_S)

    event.listen(store.engine, "before_cursor_execute", on_lookup)
    try:
        report = import_csv(source, store)
    finally:
        event.remove(store.engine, "before_cursor_execute", on_lookup)
    scans[0].join(timeout=10)
    assert not scans[0].is_alive()
    assert report.created == 1
    assert scan_reports == [RevisionReport(created=0, updated=1, unchanged=0)]
    assert store.count_leads() == 1
    (lead_id,) = store.lead_ids()
    fields = store.get_lead(lead_id).fields
    assert fields["first_name"] == "Ana"
    assert fields["title"] == "CTO"


def test_concurrent_imports_one_lead_each(store: LeadStore, tmp_path: Path) -> None:
    lines = ["email,company"] + [f"lead{i}@example.com,Acme" for i in range(200)]
    paths = []
    for name in ("a.csv", "b.csv", "c.csv"):
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            import_csv(path, store, batch_size=50)
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert store.count_leads() == 200
