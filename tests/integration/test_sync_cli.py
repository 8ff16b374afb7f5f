"""``kiosk-sync`` as a subprocess against the real AcmeCRM server."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from acmecrm.embedded import RunningServer, start_server
from sync_daemon.outbox import enqueue
from tests.faults.support import add_leads, make_outbox, outbox_rows, wait_for

FAST_CONFIG = """
[crm]
timeout_s = 2.0
[sync]
batch_size = 20
lease_s = 5.0
backoff_base_s = 0.05
backoff_cap_s = 0.5
"""


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "crm.sqlite3", faults={"rate_limit": 0})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FAST_CONFIG, encoding="utf-8")
    return path


def kiosk_sync(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("KIOSK_CRM_URL", None)
    environment.pop("KIOSK_CRM_API_KEY", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sync_daemon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def test_once_syncs_everything(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "leads.sqlite3"
    add_leads(make_outbox(db), 30)
    result = kiosk_sync(
        "--db",
        f"sqlite:///{db}",
        "--crm-url",
        crm.url,
        "--config",
        str(config),
        "--once",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert crm.stats()["created"] == 30


def test_once_exit_3_lists_attention(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "leads.sqlite3"
    database = make_outbox(db)
    add_leads(database, 2)
    bad = str(uuid.uuid4())
    with database.begin() as connection:
        enqueue(connection, bad, 1, {"first_name": "No email"})
    result = kiosk_sync(
        "--db",
        f"sqlite:///{db}",
        "--crm-url",
        crm.url,
        "--config",
        str(config),
        "--once",
    )
    assert result.returncode == 3, result.stderr
    assert bad in result.stderr
    assert "acme_email" in result.stderr


def test_once_timeout_exit_1(crm: RunningServer, tmp_path: Path, config: Path) -> None:
    crm.set_faults(down=True)
    db = tmp_path / "leads.sqlite3"
    add_leads(make_outbox(db), 3)
    started = time.monotonic()
    result = kiosk_sync(
        "--db",
        f"sqlite:///{db}",
        "--crm-url",
        crm.url,
        "--config",
        str(config),
        "--once",
        "--timeout",
        "2",
    )
    assert result.returncode == 1, result.stderr
    assert "3 lead(s) still waiting" in result.stderr
    assert time.monotonic() - started < 20


def test_env_url_and_key_used(tmp_path: Path, config: Path) -> None:
    server = start_server(tmp_path / "keyed.sqlite3", api_key="s3cret-key")
    try:
        db = tmp_path / "leads.sqlite3"
        add_leads(make_outbox(db), 2)
        result = kiosk_sync(
            "--db",
            f"sqlite:///{db}",
            "--config",
            str(config),
            "--once",
            env={"KIOSK_CRM_URL": server.url, "KIOSK_CRM_API_KEY": "s3cret-key"},
        )
        assert result.returncode == 0, result.stderr
        assert server.stats()["created"] == 2
        assert "s3cret-key" not in result.stderr
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--crm-url", "http://crm.example.com"], "plain http to a remote host"),
        (["--crm-url", "ftp://127.0.0.1"], "not an http(s) URL"),
        (["--config", "/nonexistent/config.toml"], "Configuration file not found"),
        ([], "No CRM URL"),
    ],
)
def test_bad_setup_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = kiosk_sync("--db", f"sqlite:///{tmp_path / 'leads.sqlite3'}", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_unknown_sync_key_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sync]\nbatch = 5\n", encoding="utf-8")
    result = kiosk_sync(
        "--db",
        f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        "--config",
        str(config),
        "--crm-url",
        "http://127.0.0.1:9",
    )
    assert result.returncode == 2
    assert "Unknown key(s) batch in [sync]" in result.stderr


def test_usage_error_exit_2() -> None:
    assert kiosk_sync("--no-such-flag").returncode == 2


def test_default_db_in_user_data_dir(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    home = tmp_path / "home"
    env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg")}
    db = home / "data" / "booth-kiosk" / "leads.sqlite3"
    db.parent.mkdir(parents=True)
    add_leads(make_outbox(db), 2)
    result = kiosk_sync(
        "--crm-url", crm.url, "--config", str(config), "--once", env=env
    )
    assert result.returncode == 0, result.stderr
    assert crm.stats()["created"] == 2
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_missing_default_db_not_created(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    home = tmp_path / "home"
    env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg")}
    result = kiosk_sync(
        "--crm-url", crm.url, "--config", str(config), "--once", env=env
    )
    assert result.returncode == 2
    assert "Database not found at the default location" in result.stderr
    assert not (home / "data").exists()


def test_missing_db_exit_2_not_created(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "typo" / "leads.sqlite3"
    result = kiosk_sync(
        "--db", f"sqlite:///{db}", "--crm-url", crm.url, "--config", str(config),
        "--once",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"Database not found: {db}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.parent.exists()


@pytest.mark.parametrize(
    ("config_text", "args", "message"),
    [
        ("[crm]\ntimeout_s = -1\n", [], "timeout_s in"),
        ("[sync]\nrate_limit_per_minute = -5\n", [], "rate_limit_per_minute must"),
        ("[sync]\nlease_s = 2\n[crm]\ntimeout_s = 10\n", [], "lease_s (2 s) must"),
        ("", ["--crm-url", "http://127.0.0.1:99999"], "invalid port"),
        ("", ["--db", "notaurl"], "is not a database URL"),
        ("", ["--db", "sqlite://"], "in-memory database"),
        ("", ["--timeout", "nan"], "--timeout must be a positive number"),
    ],
)
def test_bad_setting_exit_2_one_line(
    tmp_path: Path, config_text: str, args: list[str], message: str
) -> None:
    db = tmp_path / "leads.sqlite3"
    make_outbox(db)
    config = tmp_path / "config.toml"
    config.write_text(config_text, encoding="utf-8")
    result = kiosk_sync(
        "--db", f"sqlite:///{db}", "--crm-url", "http://127.0.0.1:9",
        "--config", str(config), "--once", *args,
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_config_not_utf8_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xff\xfe[crm]\n")
    result = kiosk_sync(
        "--db", f"sqlite:///{tmp_path / 'leads.sqlite3'}", "--config", str(config),
        "--crm-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert result.returncode == 2
    assert "is not UTF-8 text" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a database at all, only text " * 20, "is not a usable SQLite database"),
        (b"", "is empty, so it is not a kiosk database"),
    ],
)
def test_db_not_kiosk_exit_2(
    tmp_path: Path, config: Path, content: bytes, message: str
) -> None:
    db = tmp_path / "other.sqlite3"
    db.write_bytes(content)
    result = kiosk_sync(
        "--db", f"sqlite:///{db}", "--crm-url", "http://127.0.0.1:9",
        "--config", str(config), "--once",
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == content


def test_credentials_in_crm_url_hidden(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "leads.sqlite3"
    make_outbox(db)
    result = kiosk_sync(
        "--db", f"sqlite:///{db}", "--crm-url", "http://booth:pw-5678@192.0.2.1",
        "--config", str(config), "--once",
    )  # fmt: skip
    assert result.returncode == 2
    assert "contains a user name or password" in result.stderr
    assert "pw-5678" not in result.stderr
    assert "booth" not in result.stderr


def test_crm_url_with_api_path_works(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "leads.sqlite3"
    add_leads(make_outbox(db), 3)
    result = kiosk_sync(
        "--db", f"sqlite:///{db}", "--crm-url", f"{crm.url}/api/v1/",
        "--config", str(config), "--once",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert crm.stats()["created"] == 3


def test_wrong_api_key_exit_2_early(tmp_path: Path, config: Path) -> None:
    server = start_server(tmp_path / "keyed.sqlite3", api_key="right-key-1")
    try:
        db = tmp_path / "leads.sqlite3"
        add_leads(make_outbox(db), 2)
        started = time.monotonic()
        result = kiosk_sync(
            "--db", f"sqlite:///{db}", "--config", str(config), "--once",
            env={"KIOSK_CRM_URL": server.url, "KIOSK_CRM_API_KEY": "wrong-key-9"},
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert time.monotonic() - started < 20
        assert "rejected the API key" in result.stderr
        assert "KIOSK_CRM_API_KEY" in result.stderr
        assert "wrong-key-9" not in result.stderr
        assert "right-key-1" not in result.stderr
        assert server.stats()["requests_by_status"].get("401") == 1
        states = {row["state"] for row in outbox_rows(make_outbox(db))}
        assert states == {"pending"}
    finally:
        server.stop()


def hold_write_lock(path: Path, seconds: float, lock_taken: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        lock_taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def locked_for(path: Path, seconds: float) -> threading.Thread:
    lock_taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(path, seconds, lock_taken))
    locker.start()
    assert lock_taken.wait(5), "the lock was not taken"
    return locker


def test_locked_at_start_then_synced(
    crm: RunningServer, tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "leads.sqlite3"
    add_leads(make_outbox(db), 20)
    # Longer than SQLite's 5 s busy timeout.
    locker = locked_for(db, 7.0)
    try:
        result = kiosk_sync(
            "--db", f"sqlite:///{db}", "--crm-url", crm.url,
            "--config", str(config), "--once", "--timeout", "60",
        )  # fmt: skip
    finally:
        locker.join(15)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert crm.stats()["created"] == 20


def unmigrated_kiosk_db(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE alembic_version_kiosk (version_num TEXT)")
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize(("once", "status"), [(True, 1), (False, 2)])
def test_locked_through_timeout(
    tmp_path: Path, config: Path, once: bool, status: int
) -> None:
    db = unmigrated_kiosk_db(tmp_path / "leads.sqlite3")
    locker = locked_for(db, 9.0)
    try:
        result = kiosk_sync(
            "--db", f"sqlite:///{db}", "--crm-url", "http://127.0.0.1:9",
            "--config", str(config), "--timeout", "1", *(["--once"] if once else []),
        )  # fmt: skip
    finally:
        locker.join(15)
    assert result.returncode == status, result.stderr
    assert "stayed locked by another writer" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_exit_statuses() -> None:
    result = kiosk_sync("--help")
    assert result.returncode == 0
    assert "exit status:" in result.stdout
    assert "never creates one" in result.stdout


def test_sigterm_stops_daemon(crm: RunningServer, tmp_path: Path, config: Path) -> None:
    db = tmp_path / "leads.sqlite3"
    database = make_outbox(db)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "sync_daemon", "--db", f"sqlite:///{db}",
            "--crm-url", crm.url, "--config", str(config),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        add_leads(database, 5)
        wait_for(
            lambda: (
                all(row["state"] == "synced" for row in outbox_rows(database))
                and len(outbox_rows(database)) == 5
            ),
            20,
            "the daemon to sync the leads it polled",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        assert process.stderr is not None
        process.stderr.close()
