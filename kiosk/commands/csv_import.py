"""``kiosk import FILE.csv``: import leads from a CSV file and queue them for sync."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.errors import KioskError

EPILOG = """\
The header row names the columns with lead field names (first_name, last_name, email,
phone, company, title, notes, rating, ...); a file written by `kiosk export` imports
as it is.

A row merges into the lead of the same visitor: the lead named by its lead_id column
when that lead exists, else the lead with the same email (case-insensitive), else the
one with the same badge id. Rows of one file with the same email merge too. A merged
lead gets a new revision, queued for sync, only when a cell changes a value; an empty
cell never clears one. Importing the same file twice adds nothing.

Phone numbers are stored as E.164 (numbers without a country code are read in the
configured default region, US when unset) and emails are validated, as for a scanned
badge. A row with an invalid email or phone number is rejected, not saved with a
warning: fix the cell or empty it, then import the file again. Each rejected row is
listed on stderr with its line number and the reason.

Without --db, the kiosk's own database is used; a --db file that does not exist yet
is created (stderr says so). Exit status: 0 every row imported, 1 some rows rejected
or the file could not be imported at all, 2 usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "file",
        metavar="FILE.csv",
        help="CSV file with a header row of lead field names",
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (TOML); sets the default phone region",
    )


def run(args: argparse.Namespace) -> int:
    """Import the file, report rejected rows on stderr and a summary on stdout."""
    from kiosk.config import default_db_url, load_config
    from kiosk.store.csvio import import_csv, open_csv_store

    path = Path(args.file)
    if path.is_dir():
        raise KioskError(f"{path} is a directory, not a CSV file. Give a .csv file.")
    if not path.is_file():
        raise KioskError(f"CSV file not found: {path}. Check the path.")
    config = load_config(args.config)
    url = args.db or default_db_url()
    store, created = open_csv_store(url, must_exist=False)
    if created:
        print(f"Created a new database: {url}", file=sys.stderr)
    try:
        report = import_csv(path, store, default_region=config.capture.default_region)
    finally:
        store.close()
    for rejected in report.rejected:
        print(f"{path}: line {rejected.line}: {rejected.reason}", file=sys.stderr)
    queued = " New and updated leads are queued for sync." if report.saved else ""
    print(
        f"Read {_plural(report.rows, 'row')} from {path}: {report.summary()}.{queued}"
    )
    return 1 if report.rejected else 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
