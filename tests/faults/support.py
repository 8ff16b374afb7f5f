"""Helpers shared by the sync integration and fault tests.

They fill an outbox directly with :func:`sync_daemon.outbox.enqueue`, run the real
AcmeCRM server on loopback, and compare the CRM's final state with the outbox.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, text

from sync_daemon.connectors.acme import AcmeConnector
from sync_daemon.connectors.base import RequestMetric
from sync_daemon.db import create_db_engine
from sync_daemon.engine import EngineSettings, SyncEngine
from sync_daemon.mapping import load_mapping
from sync_daemon.outbox import enqueue, migrate

FAST = EngineSettings(
    batch_size=20,
    lease_s=5.0,
    backoff_base_s=0.05,
    backoff_cap_s=0.5,
    idle_poll_s=0.2,
    rate_limit_per_minute=0,
)


def make_outbox(path: Path) -> Engine:
    """Create a SQLite outbox at ``path`` and return its engine."""
    engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def snapshot(index: int) -> dict[str, Any]:
    """Return a lead snapshot with a unique email."""
    return {
        "first_name": "Ana",
        "last_name": f"Visitor {index}",
        "email": f"visitor{index}@example.com",
        "company": "Example Ltd",
        "rating": "warm",
        "answers": {"demo": "yes"},
        "consent_at": "2026-12-04T10:00:00+00:00",
        "consent_version": "v1",
        "event": "Expo",
    }


def add_leads(engine: Engine, count: int, start: int = 0) -> list[str]:
    """Enqueue ``count`` new leads (revision 1) and return their ids."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as connection:
        for offset, lead_id in enumerate(ids):
            enqueue(connection, lead_id, 1, snapshot(start + offset))
    return ids


@dataclass
class RequestLog:
    """Every request the engine made, recorded from ``on_request``."""

    metrics: list[RequestMetric] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, metric: RequestMetric) -> None:
        with self.lock:
            self.metrics.append(metric)

    def snapshot(self) -> list[RequestMetric]:
        with self.lock:
            return list(self.metrics)

    def retry_after_violations(self) -> list[str]:
        """List requests sent before an earlier response's Retry-After had passed."""
        metrics = sorted(self.snapshot(), key=lambda metric: metric.sent_at)
        problems = []
        for index, metric in enumerate(metrics):
            if not metric.retry_after_s:
                continue
            responded = metric.sent_at + metric.latency_ms / 1000.0
            allowed = responded + metric.retry_after_s
            for later in metrics[index + 1 :]:
                if later.sent_at <= responded:
                    continue
                # 10 ms of slack for the clock read before and after the wait.
                if later.sent_at < allowed - 0.01:
                    problems.append(
                        f"{later.endpoint} at {later.sent_at:.3f} before "
                        f"Retry-After ended at {allowed:.3f}"
                    )

        return problems


def make_engine(
    database: Engine,
    crm_url: str,
    settings: EngineSettings = FAST,
    *,
    timeout_s: float = 5.0,
    log: RequestLog | None = None,
) -> SyncEngine:
    """Build a sync engine on ``database`` against the CRM at ``crm_url``."""
    connector = AcmeConnector(crm_url, timeout_s=timeout_s)
    return SyncEngine(
        database, connector, load_mapping("acme"), settings, on_request=log
    )


@contextmanager
def running(engine: SyncEngine) -> Iterator[threading.Event]:
    """Run ``engine.run_forever`` in a thread for the duration of the block."""
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), name="sync-test")
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        engine.wake()
        thread.join(30)
        engine.connector.close()
        assert not thread.is_alive(), "the sync thread did not stop"


def wait_for(condition: Callable[[], bool], timeout_s: float, description: str) -> None:
    """Poll ``condition`` until it is true, or fail after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {description}")


def crm_contacts(crm_url: str, token: str) -> list[dict[str, Any]]:
    """Return every contact stored in the CRM."""
    contacts: list[dict[str, Any]] = []
    while True:
        response = requests.get(
            f"{crm_url}/api/v1/contacts",
            params={"limit": 100, "offset": len(contacts)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        response.raise_for_status()
        page = response.json()["contacts"]
        contacts.extend(page)
        if len(page) < 100:
            return contacts


def crm_token(crm_url: str) -> str:
    """Get a bearer token for reading the CRM in checks."""
    response = requests.post(
        f"{crm_url}/api/v1/auth",
        json={"email": "checker@example.com", "name": "Checker", "company": ""},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["token"])


def outbox_rows(database: Engine) -> list[dict[str, Any]]:
    """Return every outbox row as a dict."""
    with database.connect() as connection:
        rows = connection.execute(text("SELECT * FROM outbox ORDER BY id")).mappings()
        return [dict(row) for row in rows]


def integrity_ok(path: Path) -> bool:
    """Does ``PRAGMA integrity_check`` pass on the SQLite file?"""
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()


def check_final_state(
    database: Engine, db_path: Path, crm_url: str, stats: dict[str, Any], leads: int
) -> None:
    """Assert 0 lost and 0 duplicated: every lead synced once, with its CRM id."""
    rows = outbox_rows(database)
    not_synced = [row for row in rows if row["state"] != "synced"]
    assert not_synced == [], f"{len(not_synced)} outbox rows not synced"
    assert stats["created"] == leads, f"created {stats['created']}, expected {leads}"
    assert stats["contacts"] == leads
    contacts = crm_contacts(crm_url, crm_token(crm_url))
    by_id = {contact["acme_id"]: contact for contact in contacts}
    for row in rows:
        contact = by_id.get(row["crm_id"])
        assert contact is not None, f"lead {row['lead_id']} has no CRM contact"
    emails = [contact["acme_email"] for contact in contacts]
    assert len(emails) == len(set(emails)) == leads
    assert integrity_ok(db_path)
