"""kiosk-sync's opening of the kiosk's database: checks, migrations, lock waits."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sync_daemon.db import create_db_engine
from sync_daemon.outbox import is_migrated, migrate
from sync_daemon.startup import (
    DatabaseLocked,
    StartupError,
    open_database,
    prepare_database,
)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def kiosk_database(path: Path) -> Path:
    """Create a database as a new kiosk leaves it before the outbox migration."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE alembic_version_kiosk (version_num TEXT)")
        connection.commit()
    finally:
        connection.close()
    return path


def hold_write_lock(path: Path, seconds: float, lock_taken: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        lock_taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_missing_file_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "leads.sqlite3"
    with pytest.raises(StartupError) as caught:
        open_database(sqlite_url(path), given=True)
    assert "Database not found" in str(caught.value)
    assert "Check --db" in str(caught.value)
    assert not path.parent.exists()


def test_missing_default_advises_kiosk(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="Start the kiosk once"):
        open_database(sqlite_url(tmp_path / "leads.sqlite3"), given=False)
    assert not (tmp_path / "leads.sqlite3").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "is not a database URL"),
        ("sqlite://", "in-memory database"),
        ("sqlite:///:memory:", "in-memory database"),
        ("nosuchdialect://host/db", "install its driver"),
    ],
)
def test_unusable_url_rejected(url: str, message: str) -> None:
    with pytest.raises(StartupError, match=message):
        open_database(url, given=True)


def test_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="names the folder"):
        open_database(sqlite_url(tmp_path), given=True)


def test_password_hidden_in_message() -> None:
    with pytest.raises(StartupError) as caught:
        open_database("nosuchdialect://kiosk:pw-123@host/db", given=True)
    assert "pw-123" not in str(caught.value)


def test_non_sqlite_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    content = b"this is not a database, just some text " * 10
    path.write_bytes(content)
    with pytest.raises(StartupError, match="is not a usable SQLite database"):
        open_database(sqlite_url(path), given=True)
    assert path.read_bytes() == content


def test_database_without_outbox_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE things (x)")
    connection.commit()
    connection.close()
    with pytest.raises(StartupError, match="is not a kiosk database"):
        open_database(sqlite_url(path), given=True)
    assert not is_migrated(create_db_engine(sqlite_url(path), create_file=False))


def test_check_after_open_rejects_other_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    engine = open_database(sqlite_url(kiosk_database(path)), given=True)
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE alembic_version_kiosk")
    connection.commit()
    connection.close()
    with pytest.raises(StartupError, match="is not a kiosk database"):
        prepare_database(engine, deadline=time.monotonic() + 5, stop=threading.Event())


def test_kiosk_database_migrated(tmp_path: Path) -> None:
    engine = open_database(
        sqlite_url(kiosk_database(tmp_path / "k.sqlite3")), given=True
    )
    ready = prepare_database(
        engine, deadline=time.monotonic() + 5, stop=threading.Event()
    )
    assert ready
    assert is_migrated(engine)


def test_migrated_database_needs_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "leads.sqlite3"
    engine = create_db_engine(sqlite_url(path))
    migrate(engine)
    lock_taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(path, 3.0, lock_taken))
    locker.start()
    try:
        assert lock_taken.wait(5)
        started = time.monotonic()
        migrate(engine)
        assert time.monotonic() - started < 1.0
    finally:
        locker.join(10)


@pytest.mark.expected_log("sync_daemon.startup")
def test_lock_waited_out_past_busy_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = kiosk_database(tmp_path / "k.sqlite3")
    engine = open_database(sqlite_url(path), given=True)
    lock_taken = threading.Event()
    # Longer than SQLite's 5 s busy timeout, so the retry loop has to wait too.
    locker = threading.Thread(target=hold_write_lock, args=(path, 6.5, lock_taken))
    locker.start()
    try:
        assert lock_taken.wait(5)
        ready = prepare_database(
            engine, deadline=time.monotonic() + 30, stop=threading.Event()
        )
        assert ready
        assert is_migrated(engine)
        warnings = [r for r in caplog.records if r.name == "sync_daemon.startup"]
        assert len(warnings) == 1
    finally:
        locker.join(10)


@pytest.mark.expected_log("sync_daemon.startup")
def test_lock_past_deadline_raises(tmp_path: Path) -> None:
    path = kiosk_database(tmp_path / "k.sqlite3")
    engine = open_database(sqlite_url(path), given=True)
    lock_taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(path, 7.0, lock_taken))
    locker.start()
    try:
        assert lock_taken.wait(5)
        with pytest.raises(DatabaseLocked, match="stayed locked by another writer"):
            prepare_database(
                engine, deadline=time.monotonic() + 0.5, stop=threading.Event()
            )
    finally:
        locker.join(10)


@pytest.mark.expected_log("sync_daemon.startup")
def test_stop_ends_lock_wait(tmp_path: Path) -> None:
    path = kiosk_database(tmp_path / "k.sqlite3")
    engine = open_database(sqlite_url(path), given=True)
    lock_taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(path, 7.0, lock_taken))
    locker.start()
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    try:
        assert lock_taken.wait(5)
        ready = prepare_database(engine, deadline=time.monotonic() + 60, stop=stop)
        assert not ready
    finally:
        locker.join(10)
