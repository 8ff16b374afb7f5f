"""``kiosk`` with no subcommand: the full-screen kiosk window."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the window's options to the top-level ``kiosk`` parser."""
    parser.add_argument(
        "--camera",
        metavar="SPEC",
        help="webcam index, device path, video file, folder of images, or 'demo' "
        "(default: webcam 0, else demo badges)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: user data folder)",
    )
    parser.add_argument(
        "--crm-url",
        metavar="URL",
        help="AcmeCRM base URL (default: start the demo CRM on a free loopback port)",
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "--windowed", action="store_true", help="open in a window, not full screen"
    )


def run(args: argparse.Namespace) -> int:
    """Open the kiosk window and return its exit status when it closes."""
    from kiosk.gui.app import run_kiosk

    return run_kiosk(args)
