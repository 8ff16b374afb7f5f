"""Client-side request limiter that keeps under the CRM's rate and obeys Retry-After."""

from __future__ import annotations

import email.utils
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime


class RateLimiter:
    """At most ``max_requests`` in any sliding window of ``window_s`` seconds.

    A ``Retry-After`` from the CRM blocks every request until it has passed.
    Thread-safe.

    Args:
        max_requests: requests allowed in one window; 0 turns the window limit off
            (Retry-After is still obeyed).
        window_s: the window length in seconds.
        clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        max_requests: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_requests < 0:
            raise ValueError(f"max_requests must not be negative, got {max_requests}")
        self.max_requests = max_requests
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0

    def delay(self) -> float:
        """Return the seconds to wait before the next request may go out (0 for now)."""
        with self._lock:
            return self._delay_locked(self._clock())

    def try_acquire(self) -> float:
        """Count a request and return 0 if one may go now, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            wait = self._delay_locked(now)
            if wait <= 0:
                self._sent.append(now)
            return wait

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait until a request may go out and count it.

        Returns:
            False when ``stop`` was set while waiting (nothing counted), else True.
        """
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return True
            if stop is None:
                time.sleep(wait)
            elif stop.wait(wait):
                return False

    def block_for(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (a Retry-After from the CRM)."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._blocked_until = max(self._blocked_until, until)

    @property
    def blocked_until(self) -> float:
        """The clock time before which no request may go out because of Retry-After."""
        with self._lock:
            return self._blocked_until

    def _delay_locked(self, now: float) -> float:
        wait = max(0.0, self._blocked_until - now)
        if self.max_requests:
            while self._sent and self._sent[0] <= now - self.window_s:
                self._sent.popleft()
            if len(self._sent) >= self.max_requests:
                oldest = self._sent[len(self._sent) - self.max_requests]
                wait = max(wait, oldest + self.window_s - now)
        return wait


def parse_retry_after(
    value: str | None, *, now: datetime | None = None
) -> float | None:
    """Return the seconds a ``Retry-After`` header requests, or None when absent or bad.

    Accepts both forms of RFC 9110: whole seconds and an HTTP date.
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
