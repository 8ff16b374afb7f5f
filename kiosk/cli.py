"""Command line of the kiosk: the window by default, plus headless subcommands.

Each subcommand lives in ``kiosk.commands.<name>`` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``. Building the parser imports every
command module, so those modules import heavy packages (Qt, OpenCV, SQLAlchemy) inside
``run`` only, and ``kiosk parse`` never loads Qt or OpenCV. The window itself (no
subcommand) is in ``kiosk.commands.window``, which imports ``kiosk.gui`` when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from kiosk.errors import KioskError

log = logging.getLogger(__name__)

# name -> (module under kiosk.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "decode": ("decode", "decode QR codes in image files and print one JSON line each"),
    "parse": ("parse", "parse one QR payload and print the contact as JSON"),
    "scan": ("scan", "scan from a camera without a window and save each new contact"),
    "burst": ("burst", "simulate a burst of scans and report the timings"),
    "import": ("csv_import", "import leads from a CSV file and queue them for sync"),
    "export": ("csv_export", "export every lead and its sync state to a CSV file"),
    "set-pin": ("set_pin", "set the staff PIN that guards leaving the kiosk"),
}


class _KioskArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors never repeat a stray argument.

    A payload passed to ``kiosk parse`` that starts with ``-`` looks like an unknown
    option to argparse, whose message would echo the visitor's data to stderr.
    """

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            message = (
                "unrecognized arguments; put -- before a payload that starts with '-'"
            )
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``kiosk`` parser with the window's options and every subcommand."""
    parser = _KioskArgumentParser(
        prog="kiosk",
        description="Lead-capture kiosk: scan a visitor's QR code, save the lead, "
        "sync it to the CRM.",
    )
    window = importlib.import_module("kiosk.commands.window")
    window.add_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log DEBUG messages to stderr"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        subparser.add_argument(
            "-v", "--verbose", action="store_true", help="log DEBUG messages to stderr"
        )
        module = importlib.import_module(f"kiosk.commands.{module_name}")
        module.add_arguments(subparser)
    return parser


def configure_logging(verbose: bool) -> None:
    """Send log records to stderr, so stdout carries only a command's output."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # alembic logs its plugin set-up and each migration at INFO on every start.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kiosk`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if args.command is None:
        module_name = "window"
    else:
        module_name = SUBCOMMANDS[args.command][0]
    module = importlib.import_module(f"kiosk.commands.{module_name}")
    try:
        status: int = module.run(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
