"""Placeholder for ``kiosk burst``; its owner replaces this module."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--count",
        type=int,
        default=100,
        metavar="N",
        help="number of simulated visitors (default 100)",
    )
    parser.add_argument("--headless", action="store_true", help="run without a window")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: a temporary database)"
    )


def run(args: argparse.Namespace) -> int:
    raise KioskError("This command is not available yet.")
