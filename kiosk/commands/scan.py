"""Placeholder for ``kiosk scan``; its owner replaces this module."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--camera",
        metavar="SPEC",
        required=True,
        help="webcam index, device path, video file, folder of images, or demo",
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL")
    parser.add_argument(
        "--crm-url", metavar="URL", help="AcmeCRM base URL (default: the demo CRM)"
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "--auto-save",
        action="store_true",
        required=True,
        help="save each new contact without confirmation",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="give up after S seconds (default 300)",
    )


def run(args: argparse.Namespace) -> int:
    raise KioskError("This command is not available yet.")
