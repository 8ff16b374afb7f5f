"""Spreadsheet-safe CSV cells, and the helpers the CSV import and export share."""

from __future__ import annotations

import re
from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch, rows or leads."""

FORMULA_PREFIXES = ("=", "+", "-", "@")
"""First characters that make a spreadsheet evaluate a cell as a formula."""
_ESCAPE_TRIGGERS = frozenset("'=+-@")
E164_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")


def escape_cell(value: str, *, phone: bool = False) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would run as a formula.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` gets one. The exception is an
    E.164 number such as ``+12015550123`` in a phone cell (``phone=True``); the same
    text in any other column gets the apostrophe. A cell that already starts with an
    apostrophe and one of those characters gets one more, so :func:`unescape_cell`
    restores it exactly.
    """
    if not value or value[0] not in _ESCAPE_TRIGGERS:
        return value
    if _starts_escaped(value):
        return "'" + value
    if phone and E164_PHONE.fullmatch(value):
        return value
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Remove the apostrophe that :func:`escape_cell` added, and only that one."""
    if _starts_escaped(value):
        return value[1:]
    return value


def _starts_escaped(value: str) -> bool:
    """Is ``value`` one or more apostrophes followed by a formula character?"""
    rest = value.lstrip("'")
    return len(rest) < len(value) and rest.startswith(FORMULA_PREFIXES)


def report_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def first_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0].rstrip(".") if text else type(error).__name__
