"""The lead store of a CSV import or export, opened with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from kiosk.errors import KioskError
from kiosk.store.csv_cells import first_line
from kiosk.store.leads import LeadStore, open_store


def open_csv_store(url: str, *, must_exist: bool) -> tuple[LeadStore, bool]:
    """Open the lead store for an import or an export.

    Args:
        url: the SQLAlchemy URL from ``--db``.
        must_exist: raise instead of creating a SQLite database file that does not
            exist yet (an export reads leads and must not create an empty store).

    Returns:
        The store, and whether a new SQLite database file was created.

    Raises:
        KioskError: the URL is invalid, the database file is missing while
            ``must_exist`` is set, or the database cannot be opened.
    """
    safe_url = _displayable_url(url)
    path = _sqlite_file(url)
    existed = path is None or path.exists()
    if path is not None and path.is_dir():
        raise KioskError(
            f"The database path {path} is a directory. Give the path of a SQLite "
            "file, such as sqlite:////var/lib/kiosk/leads.sqlite3."
        )
    if must_exist and not existed:
        raise KioskError(
            f"Database not found: {path}. Check the --db URL; an export reads an "
            "existing database and does not create one."
        )
    try:
        store = open_store(url)
    except ArgumentError as exc:
        raise KioskError(
            f"Invalid database URL {safe_url}: {first_line(exc)}. Use a SQLAlchemy "
            "URL such as sqlite:////var/lib/kiosk/leads.sqlite3."
        ) from exc
    except ImportError as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: its database driver is not "
            f"installed ({exc}). Install it in the kiosk's environment."
        ) from exc
    except DBAPIError as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: {first_line(exc.orig)}."
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise KioskError(
            f"Cannot open the database {safe_url}: {first_line(exc)}."
        ) from exc
    return store, not existed


def _displayable_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        raise KioskError(
            f"Invalid database URL {url!r}: {first_line(exc)}. Use a SQLAlchemy URL "
            "such as sqlite:////var/lib/kiosk/leads.sqlite3."
        ) from exc


def _sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for other databases and memory."""
    parsed: URL = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
