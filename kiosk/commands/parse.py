"""Placeholder for ``kiosk parse``; its owner replaces this module."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "payload",
        nargs="?",
        default="-",
        metavar="PAYLOAD",
        help="the payload text, or - to read bytes from stdin (default)",
    )


def run(args: argparse.Namespace) -> int:
    raise KioskError("This command is not available yet.")
