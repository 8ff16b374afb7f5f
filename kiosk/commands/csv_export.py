"""Placeholder for ``kiosk csv_export``; its owner replaces this module."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.csv", help="CSV file to write")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")


def run(args: argparse.Namespace) -> int:
    raise KioskError("This command is not available yet.")
