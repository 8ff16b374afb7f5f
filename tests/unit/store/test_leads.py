"""Saving, updating, finding and listing leads on real SQLite files."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from kiosk.contacts.model import Address, Contact
from kiosk.store import LeadNotFound, LeadStore, lead_fields_from_contact, open_store
from kiosk.store import leads as leads_module
from kiosk.store.models import Lead
from kiosk.store.queries import lead_filter
from sync_daemon import outbox
from sync_daemon.db import utcnow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LeadStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield opened
    opened.close()


def _outbox_rows(store: LeadStore, lead_id: str) -> list[Any]:
    t = outbox.outbox_table
    with store.engine.connect() as connection:
        query = select(t).where(t.c.lead_id == lead_id).order_by(t.c.revision)
        return list(connection.execute(query).all())


def _count(store: LeadStore, table: str) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        )


def _set_state(store: LeadStore, lead_id: str, state: str, **values: Any) -> None:
    t = outbox.outbox_table
    with store.engine.begin() as connection:
        connection.execute(
            update(t).where(t.c.lead_id == lead_id).values(state=state, **values)
        )


def test_save_lead_writes_lead_and_outbox(store: LeadStore) -> None:
    saved = store.save_lead(
        {"first_name": "José", "email": "jose@example.com", "rating": "hot"},
        payload_text="BEGIN:VCARD",
    )
    rows = _outbox_rows(store, saved.lead_id)
    assert saved.revision == 1
    assert len(rows) == 1
    assert rows[0].id == saved.outbox_id
    assert rows[0].state == outbox.PENDING
    assert rows[0].idempotency_key == f"{saved.lead_id}:1"
    assert '"first_name": "José"' in rows[0].snapshot
    assert saved.captured_at.tzinfo is not None


def test_failed_outbox_insert_writes_nothing(
    store: LeadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_row(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "pending_row", failing_row)
    with pytest.raises(RuntimeError, match="disk full"):
        store.save_lead({"email": "ana@example.com"})
    assert _count(store, "leads") == 0
    assert _count(store, "outbox") == 0


def test_failed_update_keeps_previous_revision(
    store: LeadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = store.save_lead({"email": "ana@example.com", "company": "Acme"})

    def failing_row(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "pending_row", failing_row)
    with pytest.raises(RuntimeError):
        store.save_lead({"company": "Globex"}, lead_id=saved.lead_id)
    record = store.get_lead(saved.lead_id)
    assert record.revision == 1
    assert record.fields["company"] == "Acme"
    assert len(_outbox_rows(store, saved.lead_id)) == 1


def test_update_bumps_revision_and_keeps_fields(store: LeadStore) -> None:
    first = store.save_lead({"email": "ana@example.com", "company": "Acme"})
    second = store.save_lead({"rating": "warm"}, lead_id=first.lead_id)
    record = store.get_lead(first.lead_id)
    rows = _outbox_rows(store, first.lead_id)

    assert second.lead_id == first.lead_id
    assert second.revision == 2
    assert second.captured_at == first.captured_at
    assert record.revision == 2
    assert record.fields["company"] == "Acme"
    assert record.fields["rating"] == "warm"
    assert [row.revision for row in rows] == [1, 2]
    assert rows[0].state == outbox.SUPERSEDED
    assert record.sync_state == outbox.PENDING


def test_update_unknown_lead_raises(store: LeadStore) -> None:
    with pytest.raises(LeadNotFound):
        store.save_lead({"email": "a@example.com"}, lead_id="no-such-lead")


def test_unknown_field_rejected(store: LeadStore) -> None:
    with pytest.raises(ValueError, match="colour"):
        store.save_lead({"email": "a@example.com", "colour": "red"})
    assert _count(store, "leads") == 0


def test_invalid_rating_rejected(store: LeadStore) -> None:
    with pytest.raises(ValueError, match="rating"):
        store.save_lead({"rating": "lukewarm"})


def test_get_lead_unknown_raises(store: LeadStore) -> None:
    with pytest.raises(LeadNotFound, match="no-such-lead"):
        store.get_lead("no-such-lead")


def test_get_lead_reports_crm_id_and_error(store: LeadStore) -> None:
    saved = store.save_lead({"email": "ana@example.com"})
    now = utcnow()
    _set_state(store, saved.lead_id, outbox.SYNCED, crm_id="acme-7", synced_at=now)
    store.save_lead({"email": "not-an-email"}, lead_id=saved.lead_id)
    t = outbox.outbox_table
    with store.engine.begin() as connection:
        connection.execute(
            update(t)
            .where(t.c.revision == 2)
            .values(state=outbox.NEEDS_ATTENTION, last_error="acme_email: invalid")
        )
    record = store.get_lead(saved.lead_id)
    assert record.sync_state == outbox.NEEDS_ATTENTION
    assert record.last_error == "acme_email: invalid"
    assert record.crm_id == "acme-7"
    assert record.synced_at == now


def test_duplicate_by_email_casefold(store: LeadStore) -> None:
    saved = store.save_lead({"email": "Straße@Example.com"})
    found = store.find_duplicate(email="STRASSE@example.com")
    assert found is not None
    assert found.lead_id == saved.lead_id
    assert found.matched_on == "email"


def test_duplicate_by_badge_then_payload(store: LeadStore) -> None:
    badge = store.save_lead({"badge_id": "B-1001"})
    payload = store.save_lead({"first_name": "Ana"}, payload_text="MECARD:N:Ana;;")

    by_badge = store.find_duplicate(email="new@example.com", badge_id="B-1001")
    by_payload = store.find_duplicate(badge_id="B-9", payload_text="MECARD:N:Ana;;")

    assert by_badge is not None
    assert by_badge.lead_id == badge.lead_id
    assert by_badge.matched_on == "badge_id"
    assert by_payload is not None
    assert by_payload.lead_id == payload.lead_id
    assert by_payload.matched_on == "payload"
    assert store.find_duplicate(payload_text="MECARD:N:Bob;;") is None
    assert store.find_duplicate() is None


def test_duplicate_email_wins_over_badge(store: LeadStore) -> None:
    by_email = store.save_lead({"email": "ana@example.com"})
    store.save_lead({"badge_id": "B-1"})
    found = store.find_duplicate(email="ana@example.com", badge_id="B-1")
    assert found is not None
    assert found.lead_id == by_email.lead_id


def test_search_name_email_company(store: LeadStore) -> None:
    ana = store.save_lead(
        {"first_name": "Ána", "last_name": "García", "email": "ana@acme.example.com"}
    )
    bob = store.save_lead({"first_name": "Bob", "company": "Globex 100%"})
    store.save_lead({"first_name": "Carl", "company": "Initech"})

    assert [row.lead_id for row in store.list_leads("garcía")] == [ana.lead_id]
    assert [row.lead_id for row in store.list_leads("GARCÍA ána")] == [ana.lead_id]
    assert [row.lead_id for row in store.list_leads("acme.example")] == [ana.lead_id]
    assert [row.lead_id for row in store.list_leads("globex")] == [bob.lead_id]
    assert [row.lead_id for row in store.list_leads("100%")] == [bob.lead_id]
    assert store.list_leads("1_0") == []
    assert store.count_leads("e") == 3
    assert store.count_leads("ana bob") == 0


def test_list_newest_first_with_pages(store: LeadStore) -> None:
    saved = [store.save_lead({"first_name": f"Lead {i}"}) for i in range(5)]
    first_page = store.list_leads(limit=2)
    second_page = store.list_leads(offset=2, limit=2)
    newest_first = [s.lead_id for s in reversed(saved)]
    assert [row.lead_id for row in first_page] == newest_first[:2]
    assert [row.lead_id for row in second_page] == newest_first[2:4]
    assert store.count_leads() == 5


@pytest.mark.parametrize("few_matches", [2, 5000])
def test_search_pages_same_both_ways(
    store: LeadStore, monkeypatch: pytest.MonkeyPatch, few_matches: int
) -> None:
    monkeypatch.setattr(leads_module, "FEW_MATCHES", few_matches)
    saved = [store.save_lead({"company": f"Acme {i}"}) for i in range(4)]
    store.save_lead({"company": "Globex"})
    newest_first = [s.lead_id for s in reversed(saved)]

    pages = [store.list_leads("acme", offset=offset, limit=3) for offset in (0, 3)]

    assert [row.lead_id for row in pages[0]] == newest_first[:3]
    assert [row.lead_id for row in pages[1]] == newest_first[3:]
    assert store.list_leads("acme", offset=6, limit=3) == []
    assert store.list_leads("no-such-company") == []
    assert store.count_leads("acme") == 4


@pytest.mark.parametrize("few_matches", [1, 5000])
def test_search_ties_ordered_by_id(
    store: LeadStore, monkeypatch: pytest.MonkeyPatch, few_matches: int
) -> None:
    monkeypatch.setattr(leads_module, "FEW_MATCHES", few_matches)
    saved = [store.save_lead({"company": f"Acme {i}"}) for i in range(3)]
    with store.engine.begin() as connection:
        connection.execute(update(Lead).values(captured_at=saved[0].captured_at))
    expected = sorted((s.lead_id for s in saved), reverse=True)

    rows = store.list_leads("acme", limit=2) + store.list_leads("acme", offset=2)

    assert [row.lead_id for row in rows] == expected


def test_filter_by_sync_state(store: LeadStore) -> None:
    synced = store.save_lead({"email": "a@example.com"})
    stuck = store.save_lead({"email": "b@example.com"})
    store.save_lead({"email": "c@example.com"})
    _set_state(store, synced.lead_id, outbox.SYNCED, crm_id="acme-1")
    _set_state(store, stuck.lead_id, outbox.NEEDS_ATTENTION, last_error="bad email")

    stuck_rows = store.list_leads(state=outbox.NEEDS_ATTENTION)
    assert [row.lead_id for row in stuck_rows] == [stuck.lead_id]
    assert stuck_rows[0].last_error == "bad email"
    assert store.count_leads(state=outbox.NEEDS_ATTENTION) == 1
    assert store.count_leads(state=outbox.SYNCED) == 1
    assert store.count_leads(state=outbox.PENDING) == 1
    assert store.list_leads(state=outbox.SYNCED)[0].crm_id == "acme-1"


@pytest.mark.parametrize("state_is_rare", [True, False])
def test_state_filter_uses_newest_revision(
    store: LeadStore, state_is_rare: bool
) -> None:
    saved = store.save_lead({"email": "a@example.com"})
    _set_state(store, saved.lead_id, outbox.SYNCED, crm_id="acme-1")
    store.save_lead({"notes": "met at booth"}, lead_id=saved.lead_id)

    def count(state: str) -> int:
        where = lead_filter(state=state, state_is_rare=state_is_rare)
        query = select(func.count()).select_from(Lead).where(where)
        with store.reader_session() as session:
            return int(session.execute(query).scalar_one())

    assert count(outbox.SYNCED) == 0
    assert count(outbox.PENDING) == 1
    assert store.list_leads(state=outbox.SYNCED) == []


def test_count_common_state_by_complement(store: LeadStore) -> None:
    saved = [store.save_lead({"email": f"v{i}@example.com"}) for i in range(6)]
    for lead in saved[:5]:
        _set_state(store, lead.lead_id, outbox.SYNCED, crm_id=f"acme-{lead.lead_id}")
    # A new revision waits while the older one stays synced: not counted as synced.
    store.save_lead({"notes": "met at booth"}, lead_id=saved[0].lead_id)
    _set_state(store, saved[1].lead_id, outbox.SYNCED)
    store.save_lead({"notes": "called back"}, lead_id=saved[1].lead_id)
    _set_state(store, saved[1].lead_id, outbox.SYNCED)

    # 6 synced outbox rows of 8, so the state is not rare.
    assert store.count_leads(state=outbox.SYNCED) == 4
    assert len(store.list_leads(state=outbox.SYNCED)) == 4
    assert store.count_leads(state=outbox.PENDING) == 2
    assert store.count_leads("v1@", state=outbox.SYNCED) == 1


def test_lead_fields_from_contact() -> None:
    contact = Contact(
        first_name="Ana",
        email="ana@example.com",
        department=("R&D", "Labs"),
        address=Address(city="Lyon"),
    )
    fields = lead_fields_from_contact(contact)
    assert fields["first_name"] == "Ana"
    assert fields["department"] == ["R&D", "Labs"]
    assert fields["address"]["city"] == "Lyon"
    assert "warnings" not in fields


def test_saves_from_several_threads(store: LeadStore) -> None:
    errors: list[BaseException] = []

    def save_many(worker: int) -> None:
        try:
            for index in range(20):
                store.save_lead({"email": f"w{worker}.{index}@example.com"})
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=save_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with store.reader_session() as session:
        assert (
            session.execute(select(func.count()).select_from(Lead)).scalar_one() == 80
        )
    assert _count(store, "outbox") == 80
