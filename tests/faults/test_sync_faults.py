"""The sync engine against the real AcmeCRM server under each fault class.

Every test ends by comparing the CRM with the local outbox: every lead synced, none
lost, none created twice (``created`` equals the number of leads), ``PRAGMA
integrity_check`` ok, and no request sent before a Retry-After had ended.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from acmecrm.embedded import RunningServer, start_server
from tests.faults.support import (
    FAST,
    RequestLog,
    add_leads,
    check_final_state,
    make_engine,
    make_outbox,
    running,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.expected_log("sync_daemon")]


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "crm.sqlite3", faults={"rate_limit": 0, "seed": 7})
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


def drain_and_check(
    crm: RunningServer,
    database: Engine,
    db_path: Path,
    leads: int,
    log: RequestLog,
    timeout_s: float = 90,
) -> None:
    wait_for(
        lambda: database_synced(database) == leads, timeout_s, f"{leads} leads synced"
    )
    clear_faults(crm)
    check_final_state(database, db_path, crm.url, crm.stats(), leads)
    assert log.retry_after_violations() == []


def clear_faults(crm: RunningServer) -> None:
    """Turn the faults off so the final checks read the CRM reliably."""
    crm.set_faults(
        down=False,
        error_rate=0.0,
        latency_ms=0,
        rate_limit=0,
        apply_then_timeout_rate=0.0,
        clock_skew_s=0.0,
    )


def database_synced(database: Engine) -> int:
    with database.connect() as connection:
        count = connection.exec_driver_sql(
            "SELECT count(*) FROM outbox WHERE state = 'synced'"
        ).scalar_one()
    return int(count)


def test_down_then_up(crm: RunningServer, database: Engine, db_path: Path) -> None:
    crm.set_faults(down=True)
    add_leads(database, 60)
    log = RequestLog()
    engine = make_engine(database, crm.url, log=log)
    with running(engine):
        wait_for(lambda: engine.status().reachable is False, 10, "the outage seen")
        time.sleep(1.0)
        assert database_synced(database) == 0
        crm.set_faults(down=False)
        drain_and_check(crm, database, db_path, 60, log)
    health = [m for m in log.snapshot() if m.endpoint == "/api/v1/health"]
    assert health, "the engine did not probe /health while the CRM was down"


def test_thirty_percent_server_errors(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    crm.set_faults(error_rate=0.3)
    add_leads(database, 150)
    log = RequestLog()
    engine = make_engine(database, crm.url, replace(FAST, batch_size=10), log=log)
    with running(engine):
        drain_and_check(crm, database, db_path, 150, log)
    statuses = {m.status for m in log.snapshot()}
    assert statuses & {500, 502, 503}, "no injected error was seen"


def test_rate_limit_storm_obeys_retry_after(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    # The server allows 6 requests a minute and the client-side limiter is off, so
    # the server responds with 429 and only Retry-After delays the client.
    crm.set_faults(rate_limit=6)
    add_leads(database, 40)
    log = RequestLog()
    settings = replace(FAST, batch_size=5, rate_limit_per_minute=0)
    engine = make_engine(database, crm.url, settings, log=log)
    with running(engine):
        drain_and_check(crm, database, db_path, 40, log, timeout_s=150)
    limited = [m for m in log.snapshot() if m.status == 429]
    assert limited, "the storm produced no 429"
    assert all(m.retry_after_s for m in limited)
    assert log.retry_after_violations() == []


def test_client_limiter_avoids_429(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    crm.set_faults(rate_limit=10)
    add_leads(database, 30)
    log = RequestLog()
    settings = replace(FAST, batch_size=5, rate_limit_per_minute=9)
    engine = make_engine(database, crm.url, settings, log=log)
    with running(engine):
        drain_and_check(crm, database, db_path, 30, log)
    assert [m for m in log.snapshot() if m.status == 429] == []


def test_apply_then_timeout(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    crm.set_faults(apply_then_timeout_rate=0.3, hold_ms=1500)
    add_leads(database, 80)
    log = RequestLog()
    engine = make_engine(
        database, crm.url, replace(FAST, batch_size=10), timeout_s=0.5, log=log
    )
    with running(engine):
        drain_and_check(crm, database, db_path, 80, log)
    timeouts = [m for m in log.snapshot() if m.reason == "timeout"]
    assert timeouts, "no request timed out"
    assert crm.stats()["replayed"] > 0


def test_token_expiry_mid_batch(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    crm.set_faults(token_ttl=2, latency_ms=100)
    add_leads(database, 120)
    log = RequestLog()
    engine = make_engine(database, crm.url, replace(FAST, batch_size=5), log=log)
    with running(engine):
        # Jumps of the server clock invalidate the token the client holds, so some
        # batches meet a 401 and are resent with a fresh token.
        for skew in (1000, 0, -1000, 0):
            time.sleep(0.7)
            crm.set_faults(clock_skew_s=skew)
        drain_and_check(crm, database, db_path, 120, log)
    statuses = [m.status for m in log.snapshot() if m.endpoint.endswith("/bulk")]
    assert 401 in statuses
    assert engine.tokens.refresh_count >= 3


@pytest.mark.parametrize("skew_s", [300, -300])
def test_server_clock_skew(
    crm: RunningServer, database: Engine, db_path: Path, skew_s: int
) -> None:
    crm.set_faults(clock_skew_s=skew_s, token_ttl=3)
    add_leads(database, 60)
    log = RequestLog()
    engine = make_engine(database, crm.url, replace(FAST, batch_size=5), log=log)
    with running(engine):
        drain_and_check(crm, database, db_path, 60, log)
    assert [m for m in log.snapshot() if m.status == 401] == []


def hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_database_locked_by_other_writer(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    crm.set_faults(latency_ms=150)
    add_leads(database, 100)
    log = RequestLog()
    engine = make_engine(database, crm.url, replace(FAST, batch_size=5), log=log)
    with running(engine):
        for _ in range(3):
            # Longer than the 5 s busy timeout, so claims and updates fail and
            # are retried; released briefly so the engine can make progress.
            started = threading.Event()
            locker = threading.Thread(
                target=hold_write_lock, args=(db_path, 6.0, started)
            )
            locker.start()
            assert started.wait(30)
            locker.join(60)
            time.sleep(0.3)
        drain_and_check(crm, database, db_path, 100, log)


def test_lease_expiry_resends_with_same_key(
    crm: RunningServer, database: Engine, db_path: Path
) -> None:
    add_leads(database, 10)
    engine = make_engine(database, crm.url)
    # A sender that claims and dies leaves rows in flight. A new engine resends them
    # after the lease, and the CRM replays its stored responses.
    crashed = engine.outbox.claim_batch(10, 0.5)
    items = [
        (row.idempotency_key, engine.mapping.apply(row.snapshot)) for row in crashed
    ]
    engine.connector.send_bulk(engine.tokens.token(), items)
    time.sleep(0.6)
    log = RequestLog()
    survivor = make_engine(database, crm.url, log=log)
    stats = survivor.drain(threading.Event(), 30)
    survivor.connector.close()
    engine.connector.close()
    assert stats.synced == 10
    assert crm.stats()["replayed"] == 10
    check_final_state(database, db_path, crm.url, crm.stats(), 10)


def test_kill_9_of_kiosk_sync(
    crm: RunningServer, database: Engine, db_path: Path, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    crm.set_faults(latency_ms=150)
    add_leads(database, 600)
    config = tmp_path / "config.toml"
    config.write_text(
        "[crm]\ntimeout_s = 2.0\n[sync]\nbatch_size = 10\nlease_s = 2.5\n"
        "backoff_base_s = 0.05\nbackoff_cap_s = 0.5\n",
        encoding="utf-8",
    )
    command = [
        sys.executable, "-m", "sync_daemon", "--db", f"sqlite:///{db_path}",
        "--crm-url", crm.url, "--config", str(config), "--once", "--timeout", "120",
    ]  # fmt: skip
    rng = random.Random(11)
    kills = 0
    for _ in range(15):
        if database_synced(database) == 600:
            break
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 2.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(10)
    assert kills >= 5, "kiosk-sync finished before it could be killed often enough"
    final = subprocess.run(command, capture_output=True, text=True, timeout=150)
    assert final.returncode == 0, final.stderr[-2000:]
    clear_faults(crm)
    check_final_state(database, db_path, crm.url, crm.stats(), 600)
