"""De-duplication of codes across frames."""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.capture.types import DecodedCode


class Debouncer:
    """Accept each code once until it has been out of view for ``hold_s`` seconds.

    A code counts as in view on every frame it is decoded in. A gap shorter than
    ``hold_s``, such as a frame or two the decoder missed, does not make it new
    again. Codes are compared by their raw bytes, so several different codes in view
    are each accepted.
    """

    def __init__(self, hold_s: float = 2.0) -> None:
        if hold_s < 0:
            raise ValueError(f"hold_s must be zero or more, got {hold_s}")
        self.hold_s = hold_s
        self._last_seen: dict[bytes, float] = {}

    def accept(self, codes: Iterable[DecodedCode], now: float) -> list[DecodedCode]:
        """Record the codes seen at ``now`` (seconds); return the newly accepted."""
        self._forget_older_than(now - self.hold_s)
        accepted = []
        for code in codes:
            key = code.raw or code.text.encode("utf-8")
            if key not in self._last_seen:
                accepted.append(code)
            self._last_seen[key] = now
        return accepted

    def reset(self) -> None:
        """Forget every code, so the next sighting of any code is accepted."""
        self._last_seen.clear()

    def _forget_older_than(self, cutoff: float) -> None:
        stale = [key for key, seen in self._last_seen.items() if seen < cutoff]
        for key in stale:
            del self._last_seen[key]
