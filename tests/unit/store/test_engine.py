"""Engine set-up and migrations on real SQLite files."""

from __future__ import annotations

import stat
import threading
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect, text

from kiosk.store import open_store


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_new_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "leads.sqlite3"
    store = open_store(_url(path))
    store.save_lead({"email": "ana@example.com"})
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pragmas_set_on_every_connection(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path / "leads.sqlite3"))
    with store.engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar_one()
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar_one()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar_one()
        busy_timeout = connection.execute(text("PRAGMA busy_timeout")).scalar_one()
    store.close()
    assert journal == "wal"
    assert synchronous == 2  # FULL
    assert foreign_keys == 1
    assert busy_timeout > 0


def test_migrations_idempotent_on_reopen(tmp_path: Path) -> None:
    url = _url(tmp_path / "leads.sqlite3")
    first = open_store(url)
    saved = first.save_lead({"email": "ana@example.com"})
    first.close()

    second = open_store(url)
    tables = set(inspect(second.engine).get_table_names())
    with second.engine.connect() as connection:
        kiosk_version = connection.execute(
            text("SELECT version_num FROM alembic_version_kiosk")
        ).all()
        outbox_version = connection.execute(
            text("SELECT version_num FROM alembic_version_outbox")
        ).all()
    record = second.get_lead(saved.lead_id)
    second.close()

    assert {"leads", "metrics", "outbox"} <= tables
    assert {"alembic_version_kiosk", "alembic_version_outbox"} <= tables
    assert len(kiosk_version) == 1
    assert len(outbox_version) == 1
    assert record.fields["email"] == "ana@example.com"


def test_open_creates_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "leads.sqlite3"
    store = open_store(_url(path))
    store.close()
    assert path.exists()


def test_concurrent_open_migrates_once(tmp_path: Path) -> None:
    url = _url(tmp_path / "leads.sqlite3")
    errors: list[BaseException] = []

    def open_and_save() -> None:
        try:
            store = open_store(url)
            store.save_lead({"email": "ana@example.com"})
            store.close()
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    store = open_store(url)
    count = store.count_leads()
    store.close()
    assert errors == []
    assert count == 4


def test_reopen_upgrades_older_schema(tmp_path: Path) -> None:
    url = _url(tmp_path / "leads.sqlite3")
    store = open_store(url)
    saved = store.save_lead({"first_name": "Ana"})
    config = AlembicConfig()
    config.set_main_option(
        "script_location", str(resources.files("kiosk.store") / "migrations")
    )
    with store.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    old_indexes = {
        index["name"] for index in inspect(store.engine).get_indexes("leads")
    }
    store.close()

    reopened = open_store(url)
    new_indexes = {
        index["name"] for index in inspect(reopened.engine).get_indexes("leads")
    }
    found = reopened.list_leads("ana")
    reopened.close()
    assert "ix_leads_search_key" not in old_indexes
    assert "ix_leads_search_key" in new_indexes
    assert [row.lead_id for row in found] == [saved.lead_id]
