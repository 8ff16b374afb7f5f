"""Bearer token manager: one refresh at a time, scheduled on the client's own clock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

REFRESH_FRACTION = 0.75
"""Share of a token's lifetime after which it is refreshed."""


@dataclass(frozen=True)
class TokenGrant:
    """A token from the CRM's auth endpoint and its lifetime in seconds."""

    token: str
    expires_in: float

    def __repr__(self) -> str:
        # Keep the token out of tracebacks and debug output.
        return f"TokenGrant(token=<hidden>, expires_in={self.expires_in})"


class TokenManager:
    """Holds the current token and refreshes it at 75 % of its lifetime.

    The refresh time comes from ``expires_in`` measured on the client's monotonic clock,
    so a skewed server clock does not matter. One lock serialises refreshes: a thread
    that waits on it finds the new token and does not fetch another.

    Args:
        fetch: requests a new token from the CRM (may raise the connector's errors).
        clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        fetch: Callable[[], TokenGrant],
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_fraction: float = REFRESH_FRACTION,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._fraction = refresh_fraction
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.refresh_count = 0

    def token(self) -> str:
        """Return a token that is not due for refresh, fetching one if needed."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._refresh_locked()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Drop ``token`` after the CRM rejected it, unless it was already replaced."""
        with self._lock:
            if self._token == token:
                self._token = None

    @property
    def refresh_at(self) -> float | None:
        """The clock time of the next scheduled refresh, or None without a token."""
        with self._lock:
            return self._refresh_at if self._token is not None else None

    def _refresh_locked(self) -> None:
        started = self._clock()
        grant = self._fetch()
        self._token = grant.token
        self._refresh_at = started + max(0.0, grant.expires_in) * self._fraction
        self.refresh_count += 1
        logger.debug(
            "Got a new CRM token valid for %.0f s (refresh in %.1f s)",
            grant.expires_in,
            self._refresh_at - started,
        )
