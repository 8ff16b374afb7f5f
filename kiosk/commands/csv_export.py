"""``kiosk export FILE.csv``: write every lead and its sync state to a CSV file."""

from __future__ import annotations

import argparse

EPILOG = """\
The file is UTF-8 with a byte order mark, one lead a row, oldest first, with the
columns lead_id, captured_at, first_name, last_name, email, phone, company, title,
website, linkedin_url, notes, rating, consent_at, badge_id, sync_state, crm_id,
synced_at. A cell starting with =, +, - or @ gets a leading apostrophe so spreadsheet
programs do not run it as a formula (E.164 phone numbers excepted); `kiosk import`
removes it again. Exit status: 0 written, 1 failed, 2 usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", metavar="FILE.csv", help="CSV file to write")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")


def run(args: argparse.Namespace) -> int:
    """Export the leads and print how many were written."""
    from kiosk.config import default_db_url
    from kiosk.store import open_store
    from kiosk.store.csvio import export_csv

    store = open_store(args.db or default_db_url())
    try:
        report = export_csv(args.file, store)
    finally:
        store.close()
    print(f"Exported {report.exported} leads to {args.file}.")
    return 0
