"""``kiosk parse``: parse one QR payload and print the contact as JSON.

Exit status: 0 with the contact's JSON on stdout; 3 when the payload is not a contact,
with ``{"error": CODE, "message": TEXT}`` on stdout; 1 when the configuration file is
missing or invalid, with the reason on stderr (nothing on stdout).

A payload argument that starts with ``-`` needs ``--`` before it, or argparse reads it
as an option; stdin takes any payload unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_NOT_A_CONTACT = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "payload",
        nargs="?",
        default="-",
        metavar="PAYLOAD",
        help="the payload text, or - to read bytes from stdin (default); put -- "
        "before a payload that starts with '-', as in: kiosk parse -- -A5521",
    )


def run(args: argparse.Namespace) -> int:
    """Parse the payload and print the contact or the rejection as one JSON line.

    Raises:
        ConfigError: the ``--config`` file is missing or invalid (exit status 1).
    """
    from kiosk.config import load_config
    from kiosk.contacts import MAX_PAYLOAD_BYTES, PayloadRejected, parse

    config = load_config(args.config)
    if args.payload == "-":
        # One byte past the limit is enough for the parser to reject the payload.
        payload = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
    else:
        # Arguments that were not valid UTF-8 get their original bytes back.
        payload = os.fsencode(args.payload)
    try:
        contact = parse(payload, config)
    except PayloadRejected as rejection:
        _print_json(rejection.to_json_dict())
        return EXIT_NOT_A_CONTACT
    _print_json(contact.to_json_dict())
    return 0


def _print_json(data: dict[str, Any]) -> None:
    # Written as UTF-8 bytes, so a C or ASCII locale cannot break non-ASCII names.
    text = json.dumps(data, ensure_ascii=False) + "\n"
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
