"""The outbox state machine on a real SQLite file."""

from __future__ import annotations

import stat
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from sync_daemon.db import create_db_engine, utcnow
from sync_daemon.engine import email_key
from sync_daemon.outbox import (
    IN_FLIGHT,
    NEEDS_ATTENTION,
    PENDING,
    SUPERSEDED,
    SYNCED,
    Outbox,
    enqueue,
    migrate,
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    database = create_db_engine(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    migrate(database)
    return database


def add(
    engine: Engine, email: str, lead_id: str | None = None, revision: int = 1
) -> str:
    lead_id = lead_id or str(uuid.uuid4())
    with engine.begin() as connection:
        enqueue(connection, lead_id, revision, {"email": email, "first_name": "Ann"})
    return lead_id


def states(engine: Engine) -> list[tuple[str, int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT lead_id, revision, state FROM outbox ORDER BY id")
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_database_file_private_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "new" / "leads.sqlite3"
    database = create_db_engine(f"sqlite:///{path}")
    migrate(database)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with database.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_migrate_twice_keeps_version(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        versions = connection.execute(
            text("SELECT version_num FROM alembic_version_outbox")
        ).all()
    assert [row[0] for row in versions] == ["outbox_0001"]


def test_enqueue_joins_caller_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        enqueue(connection, str(uuid.uuid4()), 1, {"email": "a@example.com"})
        raise RuntimeError("the caller's save failed")
    assert states(engine) == []


def test_enqueue_sets_key_and_snapshot(engine: Engine) -> None:
    lead = add(engine, "a@example.com")
    rows = Outbox(engine).claim_batch(10, 30)
    assert len(rows) == 1
    assert rows[0].idempotency_key == f"{lead}:1"
    assert rows[0].snapshot == {"email": "a@example.com", "first_name": "Ann"}
    assert rows[0].attempt == 1


def test_claim_takes_lease(engine: Engine) -> None:
    add(engine, "a@example.com")
    outbox = Outbox(engine)
    assert len(outbox.claim_batch(10, 30)) == 1
    assert outbox.claim_batch(10, 30) == []
    stats = outbox.queue_stats()
    assert stats.in_flight == 1
    assert stats.pending == 0


def test_expired_lease_returns_to_pending(engine: Engine) -> None:
    lead = add(engine, "a@example.com")
    outbox = Outbox(engine)
    first = outbox.claim_batch(10, 30)
    later = utcnow() + timedelta(seconds=31)
    again = outbox.claim_batch(10, 30, now=later)
    assert [row.lead_id for row in again] == [lead]
    assert again[0].idempotency_key == first[0].idempotency_key
    assert again[0].attempt == 2


def test_stale_holder_cannot_move_row(engine: Engine) -> None:
    add(engine, "a@example.com")
    outbox = Outbox(engine)
    stale = outbox.claim_batch(10, 30)[0]
    outbox.claim_batch(10, 30, now=utcnow() + timedelta(seconds=31))
    outbox.mark_needs_attention([(stale, "late answer")])
    assert states(engine)[0][2] == IN_FLIGHT


def test_same_email_split_across_batches(engine: Engine) -> None:
    add(engine, "a@example.com")
    add(engine, "A@Example.com ")
    add(engine, "b@example.com")
    outbox = Outbox(engine)
    first = outbox.claim_batch(10, 30, email_of=email_key)
    assert sorted(row.snapshot["email"] for row in first) == [
        "a@example.com",
        "b@example.com",
    ]
    outbox.mark_synced([(row.id, "c1") for row in first])
    second = outbox.claim_batch(10, 30, email_of=email_key)
    assert [row.snapshot["email"] for row in second] == ["A@Example.com "]


def test_newer_revision_supersedes_pending(engine: Engine) -> None:
    lead = add(engine, "a@example.com")
    add(engine, "a@example.com", lead_id=lead, revision=2)
    assert states(engine) == [(lead, 1, SUPERSEDED), (lead, 2, PENDING)]
    rows = Outbox(engine).claim_batch(10, 30)
    assert [row.revision for row in rows] == [2]


def test_newer_revision_waits_for_older_in_flight(engine: Engine) -> None:
    lead = add(engine, "a@example.com")
    outbox = Outbox(engine)
    older = outbox.claim_batch(10, 30)
    add(engine, "a@example.com", lead_id=lead, revision=2)
    assert outbox.claim_batch(10, 30) == []
    outbox.mark_retry([(older[0], 0.0)], "HTTP 503")
    # The failed older revision is superseded instead of retried.
    assert states(engine) == [(lead, 1, SUPERSEDED), (lead, 2, PENDING)]
    assert [row.revision for row in outbox.claim_batch(10, 30)] == [2]


def test_retry_wait_not_claimed_before_due(engine: Engine) -> None:
    add(engine, "a@example.com")
    outbox = Outbox(engine)
    row = outbox.claim_batch(10, 30)[0]
    outbox.mark_retry([(row, 60.0)], "HTTP 500")
    assert outbox.claim_batch(10, 30) == []
    stats = outbox.queue_stats()
    assert stats.retry_wait == 1
    assert stats.next_attempt_at is not None
    later = utcnow() + timedelta(seconds=61)
    assert len(outbox.claim_batch(10, 30, now=later)) == 1


def test_release_keeps_attempt(engine: Engine) -> None:
    add(engine, "a@example.com")
    outbox = Outbox(engine)
    outbox.release(outbox.claim_batch(10, 30))
    assert outbox.claim_batch(10, 30)[0].attempt == 1


def test_requeue_needs_attention(engine: Engine) -> None:
    lead = add(engine, "not-an-email")
    outbox = Outbox(engine)
    row = outbox.claim_batch(10, 30)[0]
    outbox.mark_needs_attention([(row, "acme_email: is not a valid email")])
    state = outbox.latest_state_by_lead([lead])[lead]
    assert state.state == NEEDS_ATTENTION
    assert state.last_error == "acme_email: is not a valid email"
    assert outbox.requeue([lead]) == 1
    assert outbox.latest_state_by_lead([lead])[lead].state == PENDING


def test_latest_state_and_stats(engine: Engine) -> None:
    synced = add(engine, "a@example.com")
    waiting = add(engine, "b@example.com")
    outbox = Outbox(engine)
    rows = outbox.claim_batch(1, 30)
    outbox.mark_synced([(rows[0].id, "acme-1")])
    latest = outbox.latest_state_by_lead([synced, waiting, "unknown"])
    assert latest[synced].state == SYNCED
    assert latest[synced].crm_id == "acme-1"
    assert latest[waiting].state == PENDING
    assert "unknown" not in latest
    stats = outbox.queue_stats()
    assert (stats.synced, stats.pending, stats.waiting) == (1, 1, 1)
    assert stats.oldest_waiting_at is not None


def test_concurrent_claims_never_overlap(engine: Engine) -> None:
    for index in range(200):
        add(engine, f"p{index}@example.com")
    outbox = Outbox(engine)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            rows = outbox.claim_batch(7, 30)
            if not rows:
                return
            with lock:
                claimed.extend(row.id for row in rows)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(claimed) == 200
    assert len(set(claimed)) == 200


def test_next_due_at(engine: Engine) -> None:
    outbox = Outbox(engine)
    assert outbox.next_due_at() is None
    add(engine, "a@example.com")
    due = outbox.next_due_at()
    assert due is not None
    assert due <= utcnow()
    row = outbox.claim_batch(1, 30)[0]
    outbox.mark_retry([(row, 20.0)], "HTTP 500")
    due = outbox.next_due_at()
    assert due is not None
    assert due > utcnow() + timedelta(seconds=19)
