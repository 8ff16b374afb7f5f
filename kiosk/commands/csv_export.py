"""``kiosk export FILE.csv``: write every lead and its sync state to a CSV file."""

from __future__ import annotations

import argparse

EPILOG = """\
The file is UTF-8 with a byte order mark, one lead a row, oldest first (the leads of
one import in file order), with the columns lead_id, captured_at, first_name,
last_name, email, phone, company, title, website, linkedin_url, notes, rating,
consent_at, badge_id, sync_state, crm_id, synced_at. It is created with mode 0600.

A cell starting with =, +, - or @ gets a leading apostrophe so spreadsheet programs do
not run it as a formula. The one exception is an E.164 number such as +12015550123 in
the phone column; the same text in any other column gets the apostrophe. `kiosk
import` removes the apostrophe again.

The database must exist: a --db path with no database file is an error, not an empty
export. Exit status: 0 written, 1 failed, 2 usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", metavar="FILE.csv", help="CSV file to write")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")


def run(args: argparse.Namespace) -> int:
    """Export the leads and print how many were written."""
    from kiosk.config import default_db_url
    from kiosk.store.csvio import export_csv, open_csv_store

    store, _created = open_csv_store(args.db or default_db_url(), must_exist=True)
    try:
        report = export_csv(args.file, store)
    finally:
        store.close()
    noun = "lead" if report.exported == 1 else "leads"
    print(f"Exported {report.exported} {noun} to {args.file}.")
    return 0
