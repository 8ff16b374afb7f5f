"""Synthetic leads for the scale benchmark."""

from __future__ import annotations

from pathlib import Path

from kiosk.store import open_store
from kiosk.store.bulk import fill_synthetic_leads
from sync_daemon import outbox


def test_fill_adds_leads_with_outbox_rows(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    added = fill_synthetic_leads(store, 250, batch_size=100)
    added_again = fill_synthetic_leads(store, 10)
    states = {
        state: store.count_leads(state=state)
        for state in (outbox.SYNCED, outbox.PENDING, outbox.RETRY_WAIT)
    }
    stats = outbox.Outbox(store.engine).queue_stats()
    first = store.get_lead(store.list_leads(limit=1)[0].lead_id)
    emails = {row.email for row in store.list_leads(limit=500)}
    store.close()

    assert added == 250
    assert added_again == 10
    assert len(emails) == 260
    assert states[outbox.SYNCED] > 150
    assert sum(states.values()) <= 260
    assert stats.synced + stats.waiting + stats.needs_attention == 260
    assert first.fields["email"] == first.fields["email"].lower()
    assert first.fields["rating"] in ("hot", "warm", "cold", "")
