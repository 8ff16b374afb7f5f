"""Codes accepted while the operator is busy, waiting for their turn on the form."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

MAX_WAITING = 20


class VisitorQueue:
    """A bounded first-in, first-out queue of accepted codes, without repeats.

    A code whose text is already waiting, or is the visitor on screen, is not added
    again. When the queue is full the newest code is dropped and a warning logged.

    Args:
        max_size: the maximum number of waiting codes.
    """

    def __init__(self, max_size: int = MAX_WAITING) -> None:
        self.max_size = max_size
        self._codes: deque[tuple[Any, str]] = deque()

    def __len__(self) -> int:
        return len(self._codes)

    def push(self, code: Any, text: str, current_text: str = "") -> bool:
        """Add an accepted code; return False when it is a repeat or the queue is full.

        Args:
            code: the accepted code.
            text: its payload text, compared for repeats.
            current_text: the payload of the visitor on screen now.
        """
        waiting = (queued_text for _code, queued_text in self._codes)
        if text == current_text or text in waiting:
            log.debug("Accepted code is already waiting or on screen; not queued")
            return False
        if len(self._codes) >= self.max_size:
            log.warning(
                "%d visitors already waiting; a newly scanned code was dropped",
                self.max_size,
            )
            return False
        self._codes.append((code, text))
        return True

    def pop(self) -> Any | None:
        """Remove and return the oldest waiting code, or None when none waits."""
        return self._codes.popleft()[0] if self._codes else None

    def clear(self) -> None:
        """Drop every waiting code."""
        self._codes.clear()


def describe_waiting(count: int) -> str:
    """Return the on-screen line for ``count`` waiting visitors ("" for none)."""
    if count == 0:
        return ""
    return f"{count} more scanned, waiting"
