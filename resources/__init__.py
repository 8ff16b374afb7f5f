"""Installed data for the kiosk: mappings, stylesheet, icons, sounds and demo badges.

Read files with :func:`read_text` or :func:`path_of` so they resolve the same way from a
source checkout and from an installed wheel.
"""

from __future__ import annotations

from importlib import resources as _resources
from importlib.resources.abc import Traversable


def files() -> Traversable:
    """Return the root of the installed ``resources`` package."""
    return _resources.files(__name__)


def read_text(relative_path: str) -> str:
    """Read a UTF-8 text resource such as ``"mappings/acme.toml"``."""
    return files().joinpath(relative_path).read_text(encoding="utf-8")


def read_bytes(relative_path: str) -> bytes:
    """Read a binary resource such as ``"sounds/beep.wav"``."""
    return files().joinpath(relative_path).read_bytes()
