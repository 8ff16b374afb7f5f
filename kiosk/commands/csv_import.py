"""``kiosk import FILE.csv``: import leads from a CSV file and queue them for sync."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.errors import KioskError

EPILOG = """\
The header row names the columns with lead field names (first_name, last_name, email,
phone, company, title, notes, rating, ...); a file written by `kiosk export` imports
as it is. Each rejected row is listed on stderr with its line number and the reason.
Exit status: 0 every row imported, 1 some rows rejected or the file could not be
imported at all, 2 usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "file",
        metavar="FILE.csv",
        help="CSV file with a header row of lead field names",
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")


def run(args: argparse.Namespace) -> int:
    """Import the file, report rejected rows on stderr and a summary on stdout."""
    from kiosk.config import default_db_url
    from kiosk.store import open_store
    from kiosk.store.csvio import import_csv

    path = Path(args.file)
    if not path.is_file():
        raise KioskError(f"CSV file not found: {path}. Check the path.")
    store = open_store(args.db or default_db_url())
    try:
        report = import_csv(path, store)
    finally:
        store.close()
    for rejected in report.rejected:
        print(f"{path}: line {rejected.line}: {rejected.reason}", file=sys.stderr)
    print(
        f"Imported {report.imported} of {report.rows} rows from {path}; "
        f"{len(report.rejected)} rejected. Imported leads are queued for sync."
    )
    return 1 if report.rejected else 0
