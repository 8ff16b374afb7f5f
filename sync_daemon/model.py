"""Plain data the sync engine takes and returns: its settings, reports and status."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sync_daemon.outbox import QueueStats


@dataclass(frozen=True)
class EngineSettings:
    """Tuning of the sync engine (the ``[sync]`` table of the configuration).

    Attributes:
        batch_size: contacts per bulk request, at most the connector's maximum (100).
        lease_s: how long a claimed batch stays reserved; longer than the HTTP timeout.
        backoff_base_s: window of the first retry after a transient failure.
        backoff_cap_s: largest backoff window.
        idle_poll_s: how often an idle engine looks for rows written by another process.
        rate_limit_per_minute: requests sent in any 60 s, kept under the CRM's limit
            (AcmeCRM allows 100 a token by default); 0 sends without a limit.
        use_bulk: send batches through the bulk endpoint; False sends one request
            a lead.
        wake_interval_s: minimum time between two attempts that :meth:`SyncEngine.wake`
            brings forward, so many saves in a row do not hammer a failing CRM.
        batch_linger_s: minimum time between two sends while leads keep arriving, so a
            rush of saves goes out in a few full batches instead of one request a
            lead, which would use up the CRM's rate limit. A send after a full batch,
            or after a quiet spell, does not wait.
        probe_cap_s: largest backoff between two health checks while the CRM is
            unreachable (the backoff cap still applies when it is smaller).
    """

    batch_size: int = 100
    lease_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    idle_poll_s: float = 2.0
    rate_limit_per_minute: int = 90
    use_bulk: bool = True
    wake_interval_s: float = 1.0
    batch_linger_s: float = 0.25
    probe_cap_s: float = 15.0

    def __post_init__(self) -> None:
        seconds = (
            self.lease_s,
            self.backoff_base_s,
            self.backoff_cap_s,
            self.idle_poll_s,
            self.wake_interval_s,
            self.batch_linger_s,
            self.probe_cap_s,
        )
        if not all(math.isfinite(value) for value in seconds):
            raise ValueError("every time in seconds must be a finite number")
        if not 1 <= self.batch_size <= 100:
            raise ValueError(f"batch_size must be 1 to 100, got {self.batch_size}")
        if self.rate_limit_per_minute < 0:
            raise ValueError(
                "rate_limit_per_minute must be 0 (no limit) or more, got "
                f"{self.rate_limit_per_minute}"
            )
        if self.batch_linger_s < 0:
            raise ValueError("batch_linger_s must be 0 or more")
        if self.probe_cap_s <= 0:
            raise ValueError("probe_cap_s must be positive")
        if self.lease_s <= 0 or self.idle_poll_s <= 0:
            raise ValueError("lease_s and idle_poll_s must be positive")
        if self.backoff_base_s < 0 or self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff needs 0 <= backoff_base_s <= backoff_cap_s")


@dataclass(frozen=True)
class RunReport:
    """Outcome counts of one :meth:`SyncEngine.run_once`."""

    claimed: int = 0
    synced: int = 0
    retry: int = 0
    needs_attention: int = 0
    released: int = 0
    requests: int = 0
    error: str = ""
    paused: bool = False


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the engine for the staff panel and the status line.

    Attributes:
        reachable: None until the first request, then whether the CRM responded.
        paused: :meth:`SyncEngine.pause` is in force.
        last_success_at: when a request last succeeded.
        next_retry_at: when the engine next tries, if it is backing off or rows wait.
        stats: outbox counts.
        last_error: the last failure, cleared by a success.
        token_refreshes: tokens fetched since start.
        config_error: why the CRM rejected the configured API key or operator, which
            retrying does not fix; "" when it did not.
    """

    reachable: bool | None
    paused: bool
    last_success_at: datetime | None
    next_retry_at: datetime | None
    stats: QueueStats
    last_error: str = ""
    token_refreshes: int = 0
    config_error: str = ""
