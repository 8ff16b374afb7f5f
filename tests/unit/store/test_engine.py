"""Engine set-up and migrations on real SQLite files."""

from __future__ import annotations

import stat
from pathlib import Path

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
