"""``kiosk set-pin``: set the staff PIN that guards leaving the kiosk.

On a terminal the PIN is asked twice without echo. Otherwise one line is read from
stdin, so ``echo 4711 | kiosk set-pin`` works in provisioning scripts.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's options: none, the PIN is read interactively or from stdin."""
    del parser


def run(args: argparse.Namespace) -> int:
    """Read the new PIN, store its salted hash and return 0."""
    from kiosk.pin import PinError, PinStore, check_pin_rules

    del args
    store = PinStore()
    if store.from_environment:
        raise PinError(
            "KIOSK_PIN is set, so the kiosk uses it and ignores the PIN file. "
            "Unset KIOSK_PIN first."
        )
    pin = _read_pin(sys.stdin)
    check_pin_rules(pin)
    store.set_pin(pin)
    print(f"Staff PIN stored in {store.path}", file=sys.stderr)
    return 0


def _read_pin(stdin: TextIO) -> str:
    if not stdin.isatty():
        line = stdin.readline()
        pin = line.rstrip("\r\n")
        if not pin:
            raise KioskError("No PIN on standard input. Pipe one line with the PIN.")
        return pin
    first = getpass.getpass("New staff PIN (4 to 12 digits): ")
    second = getpass.getpass("Repeat the PIN: ")
    if first != second:
        raise KioskError("The two PINs differ. Run 'kiosk set-pin' again.")
    return first
