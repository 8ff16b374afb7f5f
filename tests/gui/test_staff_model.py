"""The staff lead list model over a real SQLite store: paging, search, states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from kiosk.gui.staff.lead_table_model import (
    COMPANY,
    EMAIL,
    NAME,
    REASON,
    STATE,
    LeadTableModel,
)
from kiosk.gui.staff.reasons import plain_reason, state_label
from kiosk.store import LeadStore, open_store
from kiosk.store.bulk import fill_synthetic_leads
from sync_daemon.outbox import Outbox


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LeadStore]:
    lead_store = open_store(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.close()


def _save(store: LeadStore, first: str, last: str, email: str, company: str) -> str:
    fields = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "company": company,
    }
    return store.save_lead(fields).lead_id


def test_model_fetches_first_page_only(store: LeadStore, qtbot) -> None:
    fill_synthetic_leads(store, 450)
    model = LeadTableModel(store, page_size=200)
    model.set_filter()
    assert model.rowCount() == 200
    assert model.canFetchMore()
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == 450
    assert not model.canFetchMore()
    assert model.total_count() == 450


def test_view_fetches_more_when_scrolled(store: LeadStore, qtbot) -> None:
    fill_synthetic_leads(store, 600)
    view = QTableView()
    qtbot.addWidget(view)
    model = LeadTableModel(store, page_size=100, parent=view)
    view.setModel(model)
    model.set_filter()
    view.resize(600, 400)
    view.show()
    assert model.rowCount() == 100
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > 100, timeout=5000)


def test_model_search_name_email_company(store: LeadStore) -> None:
    _save(store, "Zoë", "Brontë", "zoe@example.com", "Globex")
    _save(store, "Jürgen", "Müller", "jm@example.org", "Initech")
    _save(store, "Ana", "Castro", "ana@example.com", "Müller & Söhne")
    model = LeadTableModel(store)
    model.set_filter("müller")
    companies = sorted(model.index(row, COMPANY).data() for row in range(2))
    assert model.rowCount() == 2
    assert companies == ["Initech", "Müller & Söhne"]
    model.set_filter("example.org")
    assert model.rowCount() == 1
    assert model.index(0, EMAIL).data() == "jm@example.org"
    model.set_filter("brontë")
    assert model.index(0, NAME).data() == "Zoë Brontë"


def test_model_filters_by_sync_state(store: LeadStore) -> None:
    waiting = _save(store, "Ana", "Castro", "ana@example.com", "Globex")
    stuck = _save(store, "Bo", "Li", "bo@example.com", "Globex")
    outbox = Outbox(store.engine)
    rows = outbox.claim_batch(10, lease_s=30.0)
    by_lead = {row.lead_id: row for row in rows}
    error = '{"error": "validation_failed", "errors": {"acme_email": ["is invalid"]}}'
    outbox.mark_needs_attention([(by_lead[stuck], error)])
    outbox.release([by_lead[waiting]])
    model = LeadTableModel(store)
    model.set_filter("", "needs_attention")
    assert model.rowCount() == 1
    assert model.lead_id(0) == stuck
    assert model.index(0, STATE).data() == "Needs attention"
    reason = model.index(0, REASON).data()
    assert "Email is invalid" in reason
    assert "Edit the lead" in reason
    model.set_filter("", "pending")
    assert [model.lead_id(row) for row in range(model.rowCount())] == [waiting]


def test_model_refresh_updates_states(store: LeadStore) -> None:
    lead_id = _save(store, "Ana", "Castro", "ana@example.com", "Globex")
    model = LeadTableModel(store)
    model.set_filter()
    assert model.index(0, STATE).data() == "Waiting to send"
    outbox = Outbox(store.engine)
    rows = outbox.claim_batch(10, lease_s=30.0)
    outbox.mark_synced([(rows[0].id, "crm-1")])
    model.refresh()
    assert model.lead_id(0) == lead_id
    assert model.index(0, STATE).data() == "Synced"


def test_model_shows_markup_as_text(store: LeadStore) -> None:
    _save(store, "<b>Bold</b>", "<i>x</i>", "tag@example.com", "<a href=x>Co</a>")
    model = LeadTableModel(store)
    model.set_filter()
    assert model.index(0, NAME).data() == "<b>Bold</b> <i>x</i>"
    assert (
        model.index(0, COMPANY).data(Qt.ItemDataRole.DisplayRole) == "<a href=x>Co</a>"
    )


@pytest.mark.parametrize(
    ("state", "error", "expected"),
    [
        ("synced", "", ""),
        ("pending", "", ""),
        ("retry_wait", "HTTP 503", "server error (HTTP 503)"),
        ("retry_wait", "ConnectionError: refused", "cannot be reached"),
        ("retry_wait", "ReadTimeout", "did not answer in time"),
        ("retry_wait", "HTTP 429 rate limited", "slow down"),
        ("needs_attention", '{"error": "idempotency_key_reused"}', "different data"),
        ("needs_attention", "acme_email: is not a valid email", "Email is not a valid"),
    ],
)
def test_plain_reason_words(state: str, error: str, expected: str) -> None:
    assert expected in plain_reason(state, error)


def test_state_label_for_unqueued_lead() -> None:
    assert state_label("") == "Not queued"
    assert state_label("retry_wait") == "Retrying"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"first_name": "Ana", "email": "ana@example.com"}, "Ana"),
        ({"email": "only.email@example.com", "phone": "+12125550123"}, None),
        ({"phone": "+12125550123", "badge_id": "A-5521"}, "+12125550123"),
        ({"badge_id": "A-5521", "profile_url": "https://example.com/p/1"}, "A-5521"),
        ({"profile_url": "https://example.com/p/1"}, "https://example.com/p/1"),
    ],
)
def test_name_column_shows_best_identifier(
    store: LeadStore, fields: dict[str, str], expected: str | None
) -> None:
    store.save_lead(fields)
    model = LeadTableModel(store)
    model.set_filter()

    name = model.data(model.index(0, NAME))

    assert name == (expected or fields["email"])
    assert model.data(model.index(0, EMAIL)) == fields.get("email", "")
    assert model.data(model.index(0, COMPANY)) == ""


def test_nameless_row_keeps_email_and_company(store: LeadStore) -> None:
    store.save_lead({"email": "bo@example.com", "company": "Globex"})
    model = LeadTableModel(store)
    model.set_filter()

    assert model.data(model.index(0, NAME)) == "bo@example.com"
    assert model.data(model.index(0, EMAIL)) == "bo@example.com"
    assert model.data(model.index(0, COMPANY)) == "Globex"
