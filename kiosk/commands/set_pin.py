"""Placeholder for ``kiosk set_pin``; its owner replaces this module."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    raise KioskError("This command is not available yet.")
