"""The sync engine against the real AcmeCRM server on loopback."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from acmecrm.embedded import RunningServer, start_server
from sync_daemon.outbox import enqueue
from tests.faults.support import (
    FAST,
    RequestLog,
    add_leads,
    check_final_state,
    crm_contacts,
    crm_token,
    make_engine,
    make_outbox,
    outbox_rows,
    running,
    snapshot,
    wait_for,
)


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "crm.sqlite3", faults={"rate_limit": 0})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "leads.sqlite3"


@pytest.fixture
def database(db_path: Path) -> Engine:
    return make_outbox(db_path)


def test_drain_sends_every_lead_once(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    add_leads(database, 45)
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    stats = engine.drain(threading.Event(), 30)
    engine.connector.close()
    assert stats.waiting == 0
    assert stats.synced == 45
    check_final_state(database, db_path, crm.url, crm.stats(), 45)
    bulk = [m for m in log.snapshot() if m.endpoint.endswith("/contacts/bulk")]
    assert [m.items for m in bulk] == [20, 20, 5]


def test_crm_gets_mapped_fields(crm: RunningServer, database: Engine) -> None:
    add_leads(database, 1)
    engine = make_engine(database, crm.url)
    engine.run_once()
    engine.connector.close()
    contact = crm_contacts(crm.url, crm_token(crm.url))[0]
    assert contact["acme_email"] == "visitor0@example.com"
    assert contact["acme_last_name"] == "Visitor 0"
    assert contact["acme_lead_rating"] == "warm"
    assert contact["acme_qualifiers"] == {"demo": "yes"}
    assert contact["acme_source"] == "Booth kiosk"
    assert "first_name" not in contact


def test_invalid_lead_needs_attention_others_sync(
    crm: RunningServer, database: Engine
) -> None:
    add_leads(database, 5)
    bad = str(uuid.uuid4())
    with database.begin() as connection:
        enqueue(connection, bad, 1, {"first_name": "No", "email": "not-an-email"})
    engine = make_engine(database, crm.url)
    stats = engine.drain(threading.Event(), 30)
    engine.connector.close()
    assert stats.synced == 5
    assert stats.needs_attention == 1
    state = engine.outbox.latest_state_by_lead([bad])[bad]
    assert state.state == "needs_attention"
    assert "acme_email" in state.last_error
    assert "HTTP 422" in state.last_error


def test_edit_updates_same_contact(crm: RunningServer, database: Engine) -> None:
    [lead] = add_leads(database, 1)
    engine = make_engine(database, crm.url)
    engine.run_once()
    edited = {**snapshot(0), "notes": "wants a demo", "email": "VISITOR0@example.com"}
    with database.begin() as connection:
        enqueue(connection, lead, 2, edited)
    engine.run_once()
    engine.connector.close()
    stats = crm.stats()
    assert stats["created"] == 1
    assert stats["updated"] == 1
    assert stats["contacts"] == 1
    rows = outbox_rows(database)
    assert [row["state"] for row in rows] == ["synced", "synced"]
    assert rows[0]["crm_id"] == rows[1]["crm_id"]


def test_unsent_revision_superseded_by_edit(
    crm: RunningServer, database: Engine
) -> None:
    [lead] = add_leads(database, 1)
    with database.begin() as connection:
        enqueue(connection, lead, 2, {**snapshot(0), "notes": "edited"})
    engine = make_engine(database, crm.url)
    engine.drain(threading.Event(), 30)
    engine.connector.close()
    assert crm.stats()["created"] == 1
    assert crm.stats()["updated"] == 0
    assert [row["state"] for row in outbox_rows(database)] == ["superseded", "synced"]


def test_same_email_in_two_leads_split(crm: RunningServer, database: Engine) -> None:
    with database.begin() as connection:
        enqueue(connection, str(uuid.uuid4()), 1, snapshot(7))
        enqueue(connection, str(uuid.uuid4()), 1, {**snapshot(7), "notes": "again"})
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    engine.drain(threading.Event(), 30)
    engine.connector.close()
    bulk = [m for m in log.snapshot() if "/contacts" in m.endpoint]
    assert len(bulk) == 2
    assert crm.stats()["created"] == 1
    assert crm.stats()["updated"] == 1


def test_one_request_per_lead_mode(crm: RunningServer, database: Engine) -> None:
    add_leads(database, 6)
    log = RequestLog()
    settings = replace(FAST, use_bulk=False)
    engine = make_engine(database, crm.url, settings, log=log)
    stats = engine.drain(threading.Event(), 30)
    engine.connector.close()
    assert stats.synced == 6
    single = [m for m in log.snapshot() if m.endpoint == "/api/v1/contacts"]
    assert len(single) == 6
    assert crm.stats()["created"] == 6


def test_expired_token_refreshed_and_batch_resent(
    crm: RunningServer, database: Engine
) -> None:
    add_leads(database, 3)
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    engine.tokens.token()
    # Move the server's clock past the token's expiry. By the client's schedule the
    # token is still fresh, so the CRM responds with 401.
    crm.set_faults(clock_skew_s=1000)
    report = engine.run_once()
    engine.connector.close()
    assert report.synced == 3
    assert engine.tokens.refresh_count == 2
    endpoints = [(m.endpoint, m.status) for m in log.snapshot()]
    assert endpoints == [
        ("/api/v1/auth", 200),
        ("/api/v1/contacts/bulk", 401),
        ("/api/v1/auth", 200),
        ("/api/v1/contacts/bulk", 200),
    ]
    assert crm.stats()["created"] == 3


@pytest.mark.expected_log("sync_daemon")
def test_wake_syncs_within_two_seconds_after_outage(
    crm: RunningServer, database: Engine
) -> None:
    crm.set_faults(down=True)
    settings = replace(FAST, backoff_base_s=30.0, backoff_cap_s=60.0, idle_poll_s=30.0)
    engine = make_engine(database, crm.url, settings)
    add_leads(database, 1)
    with running(engine):
        wait_for(lambda: engine.status().reachable is False, 10, "the outage seen")
        crm.set_faults(down=False)
        add_leads(database, 1, start=1)
        woken = time.monotonic()
        engine.wake()
        wait_for(lambda: engine.outbox.queue_stats().synced == 2, 5, "both synced")
        assert time.monotonic() - woken < 2.0
    assert crm.stats()["created"] == 2


@pytest.mark.expected_log("sync_daemon")
def test_no_busy_loop_while_down(crm: RunningServer, database: Engine) -> None:
    crm.set_faults(down=True)
    add_leads(database, 5)
    log = RequestLog()
    settings = replace(FAST, backoff_base_s=0.2, backoff_cap_s=1.0)
    engine = make_engine(database, crm.url, settings, log=log)
    with running(engine):
        time.sleep(3.0)
    requests_made = len(log.snapshot())
    # Full jitter on a 1 s cap averages about 0.5 s between tries after the first few.
    assert 2 <= requests_made <= 25
    health = [m for m in log.snapshot() if m.endpoint == "/api/v1/health"]
    assert health, "the engine never probed the health endpoint"
    assert engine.outbox.queue_stats().waiting == 5


def test_idle_poll_notices_rows_from_another_process(
    crm: RunningServer, database: Engine
) -> None:
    engine = make_engine(database, crm.url, replace(FAST, idle_poll_s=0.5))
    with running(engine):
        time.sleep(0.3)
        add_leads(database, 2)  # no wake(): as if the kiosk process wrote them
        wait_for(lambda: engine.outbox.queue_stats().synced == 2, 5, "rows polled")


def test_pause_and_resume(crm: RunningServer, database: Engine) -> None:
    engine = make_engine(database, crm.url)
    engine.pause()
    add_leads(database, 2)
    with running(engine):
        time.sleep(0.5)
        assert engine.status().paused
        assert engine.outbox.queue_stats().pending == 2
        engine.resume()
        wait_for(lambda: engine.outbox.queue_stats().synced == 2, 5, "synced")


def test_status_reports_success(crm: RunningServer, database: Engine) -> None:
    add_leads(database, 1)
    engine = make_engine(database, crm.url)
    engine.run_once()
    engine.connector.close()
    status = engine.status()
    assert status.reachable is True
    assert status.last_success_at is not None
    assert status.stats.synced == 1
    assert status.token_refreshes == 1


@pytest.mark.expected_log("sync_daemon")
def test_api_key_required_and_sent(tmp_path: Path, database: Engine) -> None:
    server = start_server(tmp_path / "keyed.sqlite3", api_key="k-123")
    try:
        add_leads(database, 1)
        from sync_daemon.connectors.acme import AcmeConnector
        from sync_daemon.engine import SyncEngine
        from sync_daemon.mapping import load_mapping

        wrong = SyncEngine(
            database, AcmeConnector(server.url, api_key="nope"), load_mapping(), FAST
        )
        report = wrong.run_once()
        wrong.connector.close()
        # A wrong key is a configuration error: the lead goes back to pending
        # without an attempt counted, and no retry is scheduled for it.
        assert report.released == 1
        assert report.retry == 0
        assert "rejected the API key" in report.error
        assert "KIOSK_CRM_API_KEY" in wrong.config_error
        assert wrong.status().config_error == wrong.config_error
        right = SyncEngine(
            database, AcmeConnector(server.url, api_key="k-123"), load_mapping(), FAST
        )
        stats = right.drain(threading.Event(), 10)
        right.connector.close()
        assert stats.synced == 1
    finally:
        server.stop()


@pytest.mark.expected_log("sync_daemon")
def test_rejected_bulk_isolates_bad_lead(crm: RunningServer, database: Engine) -> None:
    add_leads(database, 3)
    oversized = str(uuid.uuid4())
    with database.begin() as connection:
        # Larger than the server's body limit (34 MiB), so the whole bulk request is
        # rejected with 413 and the engine falls back to one request a lead.
        enqueue(connection, oversized, 1, {**snapshot(9), "notes": "x" * 36_000_000})
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    report = engine.run_once()
    engine.connector.close()
    assert report.synced == 3
    assert report.needs_attention == 1
    bulk = [m for m in log.snapshot() if m.endpoint == "/api/v1/contacts/bulk"]
    assert [m.status for m in bulk] == [413]
    state = engine.outbox.latest_state_by_lead([oversized])[oversized]
    assert state.state == "needs_attention"
    assert "HTTP 413" in state.last_error
    assert crm.stats()["created"] == 3


@pytest.mark.expected_log("sync_daemon")
def test_wrong_key_backs_off_logs_once(
    tmp_path: Path, database: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server(tmp_path / "keyed.sqlite3", api_key="k-123")
    try:
        add_leads(database, 3)
        from sync_daemon.connectors.acme import AcmeConnector
        from sync_daemon.engine import SyncEngine
        from sync_daemon.mapping import load_mapping

        log = RequestLog()
        settings = replace(FAST, backoff_cap_s=0.3)
        engine = SyncEngine(
            database,
            AcmeConnector(server.url, api_key="nope"),
            load_mapping(),
            settings,
            on_request=log,
        )
        with running(engine):
            time.sleep(2.0)
            status = engine.status()
        auth = [m for m in log.snapshot() if m.endpoint == "/api/v1/auth"]
        # At the 0.3 s cap, about 7 tries in 2 s; retrying without backoff would make
        # hundreds.
        assert 2 <= len(auth) <= 10
        assert "rejected the API key" in status.last_error
        assert status.config_error == status.last_error
        assert status.reachable is True
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1
        assert "nope" not in caplog.text
        assert engine.outbox.queue_stats().pending == 3
    finally:
        server.stop()


@pytest.mark.expected_log("sync_daemon")
def test_outage_log_counts_probes(
    crm: RunningServer, database: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sync_daemon")
    crm.set_faults(down=True)
    add_leads(database, 2)
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    with running(engine):
        wait_for(
            lambda: sum(m.endpoint == "/api/v1/health" for m in log.snapshot()) >= 3,
            20,
            "three failed health checks",
        )
        crm.set_faults(down=False)
        wait_for(
            lambda: engine.outbox.queue_stats().synced == 2, 20, "the leads to sync"
        )
    failed = [m for m in log.snapshot() if not m.ok]
    recovered = [r.getMessage() for r in caplog.records if "again after" in r.message]
    assert len(recovered) == 2
    checks = recovered[0].split("after ")[1].split()[0]
    attempts = recovered[1].split("after ")[1].split()[0]
    assert int(checks) >= 3
    assert int(attempts) == len(failed)


@pytest.mark.expected_log("sync_daemon")
def test_runtime_wrong_key_is_status(tmp_path: Path) -> None:
    from kiosk.config import parse_config
    from kiosk.runtime import Runtime

    server = start_server(tmp_path / "keyed.sqlite3", api_key="k-123")
    config = parse_config({"crm": {"api_key": "nope"}})
    runtime = Runtime(
        config, f"sqlite:///{tmp_path / 'kiosk.sqlite3'}", server.url,
        queue_sample_s=None,
    )  # fmt: skip
    try:
        runtime.save_lead(snapshot(1))
        runtime.start_sync_thread()
        engine = runtime.sync_engine
        wait_for(lambda: bool(engine.status().config_error), 20, "the key rejection")
        assert "KIOSK_CRM_API_KEY" in engine.status().last_error
        assert runtime._sync_thread is not None
        assert runtime._sync_thread.is_alive()
    finally:
        runtime.close()
        server.stop()


@pytest.mark.expected_log("sync_daemon")
def test_accepted_key_clears_config_error(tmp_path: Path, database: Engine) -> None:
    server = start_server(tmp_path / "keyed.sqlite3", api_key="k-123")
    try:
        add_leads(database, 2)
        from sync_daemon.connectors.acme import AcmeConnector
        from sync_daemon.engine import SyncEngine
        from sync_daemon.mapping import load_mapping

        connector = AcmeConnector(server.url, api_key="nope")
        settings = replace(FAST, backoff_cap_s=0.3)
        engine = SyncEngine(database, connector, load_mapping(), settings)
        with running(engine):
            wait_for(lambda: bool(engine.config_error), 10, "the key rejection")
            # Simulates an administrator fixing the key on either side.
            connector._api_key = "k-123"
            wait_for(
                lambda: engine.outbox.queue_stats().synced == 2, 10, "the leads to sync"
            )
        assert engine.config_error == ""
        assert engine.status().last_error == ""
    finally:
        server.stop()


def _stream_leads(database: Engine, engine_: object, count: int) -> None:
    """Save ``count`` leads one at a time, 10 ms apart, waking the engine each time."""
    for index in range(count):
        add_leads(database, 1, start=index)
        engine_.wake()  # type: ignore[attr-defined]
        time.sleep(0.01)


@pytest.mark.parametrize(("linger_s", "max_requests"), [(0.25, 10), (0.0, None)])
def test_stream_of_saves_is_batched(
    crm: RunningServer,
    database: Engine,
    linger_s: float,
    max_requests: int | None,
) -> None:
    log = RequestLog()
    settings = replace(FAST, batch_size=100, batch_linger_s=linger_s)
    engine = make_engine(database, crm.url, settings, log=log)
    with running(engine):
        _stream_leads(database, engine, 60)
        wait_for(lambda: crm.stats()["contacts"] == 60, 20, "60 contacts in the CRM")
    # A batch of one lead goes to /contacts, a larger one to /contacts/bulk.
    writes = [m for m in log.snapshot() if "/contacts" in m.endpoint and m.ok]
    assert sum(max(m.items, 1) for m in writes) == 60
    if max_requests is not None:
        # 60 saves over about 0.6 s, sent at most every 0.25 s.
        assert len(writes) <= max_requests
    else:
        # Without the linger each wake-up sends what has arrived so far.
        assert len(writes) > 10


@pytest.mark.expected_log("sync_daemon.engine")
def test_health_checks_capped_while_down(database: Engine) -> None:
    settings = replace(FAST, backoff_base_s=1.0, backoff_cap_s=60.0, probe_cap_s=2.0)
    engine = make_engine(database, "http://127.0.0.1:9", settings, timeout_s=0.5)
    engine.connector.close()
    for _ in range(12):
        engine._note_failure("unreachable", unreachable=True, probe=True)
        assert engine._resume_at - time.monotonic() <= 2.0
    engine._note_failure("HTTP 503", unreachable=False)
    assert engine.status().reachable is False
