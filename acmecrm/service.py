"""The state behind one AcmeCRM app: storage, tokens, faults, rate limit and counts."""

from __future__ import annotations

import hmac
import os
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from acmecrm.faults import FaultSettings, FaultState, RateLimiter
from acmecrm.storage import Storage
from acmecrm.tokens import TokenIssuer, resolve_secret


class CrmService:
    """Everything one AcmeCRM server shares between its request threads.

    Args:
        db_path: The SQLite file of contacts and idempotency keys.
        secret: The token signing secret; None reads ``ACMECRM_SECRET`` or the
            ``acmecrm.secret`` file beside the database (created when missing).
        api_key: When set, ``/api/v1/auth`` requires this ``api_key``.
        faults: Initial fault settings, as a mapping of changes to the defaults or a
            ``FaultSettings``.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        secret: str | None = None,
        api_key: str | None = None,
        faults: Mapping[str, Any] | FaultSettings | None = None,
    ) -> None:
        self.storage = Storage(db_path)
        self.faults = FaultState()
        if isinstance(faults, FaultSettings):
            self.faults = FaultState(faults)
        elif faults:
            self.faults.update(faults)
        self.tokens = TokenIssuer(
            resolve_secret(secret, db_path), self.faults.server_time
        )
        self.api_key = api_key or None
        self.rate_limiter = RateLimiter()
        # Set when the server stops, so held or delayed responses end at once.
        self.stopping = threading.Event()
        self._status_lock = threading.Lock()
        self._status_counts: Counter[int] = Counter()

    def check_api_key(self, given: object) -> bool:
        """Does ``given`` match the configured API key? True when none is configured."""
        if self.api_key is None:
            return True
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.api_key.encode("utf-8"))

    def count_status(self, status: int) -> None:
        """Count one ``/api/v1`` response by its status code."""
        with self._status_lock:
            self._status_counts[status] += 1

    def stats(self) -> dict[str, Any]:
        """Return the contact count, the write counters and the responses by status.

        The contact count and the created, updated and replayed counters are stored in
        the database and survive a restart. ``requests_by_status`` counts the
        ``/api/v1`` responses of this process only.
        """
        with self._status_lock:
            by_status = {
                str(code): n for code, n in sorted(self._status_counts.items())
            }
        return {**self.storage.counters(), "requests_by_status": by_status}

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings and return all of them.

        Raises:
            ValueError: When a setting is unknown or its value invalid.
        """
        return self.faults.update(changes).to_dict()

    def fault_settings(self) -> dict[str, Any]:
        """Return the fault settings now in force."""
        return self.faults.settings.to_dict()
