"""Reading the records of a CSV file: line numbers, bad quoting and oversized cells."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kiosk.errors import KioskError

MAX_CELL_CHARS = 1024 * 1024
"""Maximum length of an imported cell in characters. A longer cell rejects its row."""


class CsvFormatError(KioskError):
    """The CSV file cannot be imported at all (unreadable, not UTF-8, bad header)."""


def open_for_reading(path: Path) -> TextIO:
    if path.is_dir():
        raise CsvFormatError(
            f"{path} is a directory, not a CSV file. Give the path of a .csv file."
        )
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CsvFormatError(f"Cannot read {path}: {exc.strerror}.") from exc


@dataclass(frozen=True)
class Record:
    """One CSV record: the line it starts on, its cells, or why it cannot be read."""

    line: int
    cells: list[str]
    error: str = ""


class _Lines:
    """The physical lines of a file, counted, with the quotes seen since a mark."""

    def __init__(self, handle: TextIO) -> None:
        self._lines = iter(handle)
        self.number = 0
        self.quotes = 0
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            text = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        self.number += 1
        self.quotes += text.count('"')
        return text

    def skip_to_closing_quote(self) -> None:
        """Skip lines until the quotes since the mark pair up (or the file ends)."""
        while self.quotes % 2 == 1 and not self.exhausted:
            next(self, None)


def read_records(handle: TextIO) -> Iterator[Record]:
    """Yield the records of a CSV file, skipping blank ones.

    ``csv.reader`` reads an unclosed quote to the end of the file without an error,
    and stops at a cell longer than its field size limit. Both become a record with
    an error, and reading goes on after the bad record where that can be found.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    lines = _Lines(handle)
    reader = csv.reader(lines)
    while True:
        start = lines.number + 1
        lines.quotes = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(start, [], _read_error(exc, lines, start))
            continue
        if lines.exhausted:
            # A record that reached the end of the file ended inside a quoted field,
            # because the reader returns a complete record before it reads a line more.
            yield Record(start, [], _unclosed_quote(start, lines.number))
            return
        if any(cell.strip() for cell in cells):
            yield Record(start, cells)


TOO_LONG = (
    f"a cell is longer than the maximum of {MAX_CELL_CHARS:,} characters. "
    "Shorten it, then import the file again"
)


def _read_error(error: csv.Error, lines: _Lines, start: int) -> str:
    # The reader drops the rest of the line it failed on. When that line left a
    # quoted field open, the field goes on over the next lines, so skip them too.
    lines.skip_to_closing_quote()
    if lines.quotes % 2 == 1:
        return _unclosed_quote(start, lines.number)
    if "field larger than field limit" in str(error):
        return TOO_LONG
    return f"is not valid CSV ({error}). Check the quotes and separators of this row"


def _unclosed_quote(start: int, last: int) -> str:
    extent = f"lines {start} to {last}" if last > start else f"line {start}"
    return (
        f"a quoted field starts on this line and its closing quote is missing, so "
        f"{extent} (the end of the file) were read as one cell and none of them was "
        "imported. Add the closing quote and import the file again"
    )


def count_rows(path: Path) -> int:
    rows = 0
    with open_for_reading(path) as handle:
        try:
            for _record in read_records(handle):
                rows += 1
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"{path} is not UTF-8 text: line {_invalid_utf8_line(path)} has a byte "
                "that is not UTF-8. Save the file as CSV UTF-8 and import it again."
            ) from exc
    return max(rows - 1, 0)


def _invalid_utf8_line(path: Path) -> int:
    # The text reader decodes in blocks, so its line count at the error is only
    # approximate. Decode the bytes again to find the line, on this error path only.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 1
