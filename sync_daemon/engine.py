"""The sync loop: claim a batch from the outbox, map it, send it, record each outcome.

:meth:`SyncEngine.run_once` does one batch and is what tests call directly.
:meth:`SyncEngine.run_forever` adds the waiting: backoff after failures, health probes
while the CRM is unreachable, Retry-After, and idle polling. No database transaction is
open while a request is on the wire.
"""

from __future__ import annotations

import functools
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from sync_daemon.auth import TokenGrant, TokenManager
from sync_daemon.backoff import full_jitter
from sync_daemon.connectors.acme import TRANSIENT_STATUSES
from sync_daemon.connectors.base import (
    Connector,
    CredentialsRejected,
    ItemResult,
    RequestMetric,
    RequestRejected,
    SyncError,
    TokenRejected,
    TransientError,
)
from sync_daemon.db import create_db_engine, utcnow
from sync_daemon.mapping import FieldMapping, MappingError
from sync_daemon.model import EngineSettings, EngineStatus, RunReport
from sync_daemon.outbox import Outbox, OutboxRow, QueueStats, migrate
from sync_daemon.ratelimit import RateLimiter

__all__ = [
    "EngineSettings",
    "EngineStatus",
    "QueueStats",
    "RequestMetric",
    "RunReport",
    "SyncEngine",
    "email_key",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SLEEP_SLICE_S = 0.25
"""Maximum single wait, so a set stop event is noticed within this time."""
MIN_IDLE_WAIT_S = 0.1


class _Stopped(Exception):
    """The stop event was set before a request could go out."""


@dataclass
class _Outcome:
    synced: list[tuple[int, str]] = field(default_factory=list)
    retry: list[tuple[OutboxRow, float]] = field(default_factory=list)
    attention: list[tuple[OutboxRow, str]] = field(default_factory=list)
    release: list[OutboxRow] = field(default_factory=list)
    retry_reason: str = ""


def email_key(snapshot: dict[str, Any]) -> str:
    """Return the key the CRM upserts by: the stripped, case-folded email."""
    value = snapshot.get("email", "")
    return value.strip().casefold() if isinstance(value, str) else ""


class SyncEngine:
    """Pushes outbox rows to the CRM; one instance runs in one sync thread.

    :meth:`wake`, :meth:`pause`, :meth:`resume` and :meth:`status` may be called from
    any thread. ``on_request`` is called from the sync thread after every request.

    Args:
        engine_or_url: an engine whose database has the outbox, or a URL (the outbox
            migrations are then applied).
        connector: the CRM client.
        mapping: our lead fields -> the CRM's contact fields.
        settings: tuning; defaults when None.
        on_request: receives a :class:`RequestMetric` per request.
        rng: random source of the backoff jitter (tests pass a seeded one).
    """

    def __init__(
        self,
        engine_or_url: Engine | str,
        connector: Connector,
        mapping: FieldMapping,
        settings: EngineSettings | None = None,
        *,
        on_request: Callable[[RequestMetric], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(engine_or_url, str):
            engine_or_url = create_db_engine(engine_or_url)
            migrate(engine_or_url)
        self.settings = settings or EngineSettings()
        self.outbox = Outbox(engine_or_url)
        self.connector = connector
        self.mapping = mapping
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute)
        self.tokens = TokenManager(self._fetch_token)
        self._on_request = on_request
        self._rng = rng or random.Random()
        self._batch_size = min(self.settings.batch_size, connector.max_batch)
        connector.listeners.append(self._on_metric)

        self._lock = threading.Lock()
        self._wake_event = threading.Event()
        self._paused = threading.Event()
        self._stop = threading.Event()
        self._reachable: bool | None = None
        self._failures = 0
        self._probe_failures = 0
        self._streak = 0
        self._streak_started = 0.0
        self._config_error = ""
        self._resume_at = 0.0
        self._last_attempt = 0.0
        self._last_batch_full = False
        self._last_success_at: datetime | None = None
        self._last_error = ""
        self._requests = 0

    # Control, from any thread.

    def wake(self) -> None:
        """Look for work now: a lead was saved or the operator pressed "Sync now"."""
        self._wake_event.set()

    def pause(self) -> None:
        """Send nothing until :meth:`resume`; a batch already on the wire finishes."""
        self._paused.set()

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        self._paused.clear()
        self.wake()

    def status(self) -> EngineStatus:
        """Return the engine's state and the outbox counts (reads the database)."""
        stats = self.outbox.queue_stats()
        with self._lock:
            wait = self._resume_at - time.monotonic()
            next_retry = utcnow() + timedelta(seconds=wait) if wait > 0 else None
            if next_retry is None and stats.retry_wait:
                next_retry = stats.next_attempt_at
            return EngineStatus(
                reachable=self._reachable,
                paused=self._paused.is_set(),
                last_success_at=self._last_success_at,
                next_retry_at=next_retry,
                stats=stats,
                last_error=self._last_error,
                token_refreshes=self.tokens.refresh_count,
                config_error=self._config_error,
            )

    @property
    def config_error(self) -> str:
        """Why the CRM rejected the configured credentials, or "" when it did not.

        Retrying does not fix it, so ``kiosk-sync --once`` stops on it; a running
        engine keeps trying at the backoff cap in case the CRM side changes.
        """
        with self._lock:
            return self._config_error

    # One batch.

    def run_once(self) -> RunReport:
        """Claim one batch, send it and record each lead's outcome."""
        if self._paused.is_set():
            return RunReport(paused=True)
        requests_before = self._requests
        try:
            rows = self.outbox.claim_batch(
                self._batch_size, self.settings.lease_s, email_of=email_key
            )
        except OperationalError as exc:
            reason = f"the local database is busy ({exc.orig})"
            self._note_failure(reason, unreachable=False)
            return RunReport(error=reason)
        if not rows:
            return RunReport()
        logger.debug("Claimed %d outbox rows", len(rows))
        self._last_attempt = time.monotonic()
        self._last_batch_full = len(rows) >= self._batch_size
        outcome = self._send(rows)
        self._record(outcome)
        return RunReport(
            claimed=len(rows),
            synced=len(outcome.synced),
            retry=len(outcome.retry),
            needs_attention=len(outcome.attention),
            released=len(outcome.release),
            requests=self._requests - requests_before,
            error=outcome.retry_reason,
        )

    def _send(self, rows: list[OutboxRow]) -> _Outcome:
        outcome = _Outcome()
        mapped: list[tuple[OutboxRow, dict[str, Any]]] = []
        for row in rows:
            try:
                mapped.append((row, self.mapping.apply(row.snapshot)))
            except MappingError as exc:
                outcome.attention.append((row, f"Cannot map the lead: {exc}"))
        if not mapped:
            return outcome
        try:
            if self.settings.use_bulk and len(mapped) > 1:
                self._send_bulk(mapped, outcome)
            else:
                self._send_each(mapped, outcome)
        except _Stopped:
            done = {row_id for row_id, _ in outcome.synced}
            done |= {row.id for row, _ in outcome.retry + outcome.attention}
            outcome.release.extend(row for row, _ in mapped if row.id not in done)
        return outcome

    def _send_bulk(
        self, mapped: list[tuple[OutboxRow, dict[str, Any]]], outcome: _Outcome
    ) -> None:
        items = [(row.idempotency_key, contact) for row, contact in mapped]
        try:
            results = self._call(lambda token: self.connector.send_bulk(token, items))
        except TransientError as exc:
            self._retry_all([row for row, _ in mapped], exc, outcome)
            return
        except CredentialsRejected as exc:
            self._note_credentials_rejected(exc)
            outcome.release.extend(row for row, _ in mapped)
            outcome.retry_reason = exc.reason
            return
        except RequestRejected as exc:
            # The whole request was rejected, so find the culprit one lead at a time
            # instead of parking every lead of the batch.
            logger.warning(
                "AcmeCRM rejected a bulk request with HTTP %d, so its %d leads are "
                "sent one by one",
                exc.status,
                len(mapped),
            )
            self._send_each(mapped, outcome)
            return
        for (row, _), result in zip(mapped, results, strict=True):
            self._sort_result(row, result, outcome)
        self._note_success()

    def _send_each(
        self, mapped: list[tuple[OutboxRow, dict[str, Any]]], outcome: _Outcome
    ) -> None:
        for position, (row, contact) in enumerate(mapped):
            if position and self._stop.is_set():
                outcome.release.extend(row for row, _ in mapped[position:])
                return
            try:
                result = self._call(functools.partial(self._send_one, row, contact))
            except TransientError as exc:
                self._retry_all([row], exc, outcome)
                outcome.release.extend(row for row, _ in mapped[position + 1 :])
                return
            except CredentialsRejected as exc:
                self._note_credentials_rejected(exc)
                outcome.release.extend(row for row, _ in mapped[position:])
                outcome.retry_reason = exc.reason
                return
            except RequestRejected as exc:
                result = ItemResult(status=exc.status, message=exc.reason)
            self._sort_result(row, result, outcome)
            self._note_success()

    def _send_one(
        self, row: OutboxRow, contact: dict[str, Any], token: str
    ) -> ItemResult:
        return self.connector.send_one(token, row.idempotency_key, contact)

    def _sort_result(
        self, row: OutboxRow, result: ItemResult, outcome: _Outcome
    ) -> None:
        if result.accepted:
            assert result.crm_id is not None
            outcome.synced.append((row.id, result.crm_id))
        elif result.status in TRANSIENT_STATUSES or result.status == 0:
            reason = (
                f"{self.mapping.crm_name} could not store the lead: {result.message}"
            )
            outcome.retry.append((row, self._row_delay(row)))
            outcome.retry_reason = reason
        else:
            outcome.attention.append(
                (
                    row,
                    f"{self.mapping.crm_name} rejected the lead "
                    f"(HTTP {result.status}): {result.message}",
                )
            )

    def _retry_all(
        self, rows: Sequence[OutboxRow], exc: TransientError, outcome: _Outcome
    ) -> None:
        retry_after = exc.retry_after_s
        self._note_failure(
            exc.reason, unreachable=exc.unreachable, at_least_s=retry_after
        )
        outcome.retry_reason = exc.reason
        outcome.retry.extend((row, self._row_delay(row, retry_after)) for row in rows)

    def _row_delay(self, row: OutboxRow, at_least_s: float | None = None) -> float:
        delay = full_jitter(
            row.attempt,
            self.settings.backoff_base_s,
            self.settings.backoff_cap_s,
            self._rng,
        )
        return max(delay, at_least_s or 0.0)

    def _record(self, outcome: _Outcome) -> None:
        """Write the outcome, retrying while the database is locked by another writer.

        It keeps trying for one lease even after a stop, because a recorded result
        saves a resend. After that the lease expires and the rows are resent with the
        same keys, so the CRM replays its stored responses.
        """
        deadline = time.monotonic() + self.settings.lease_s
        steps: list[Callable[[], None]] = []
        if outcome.synced:
            steps.append(lambda: self.outbox.mark_synced(outcome.synced))
        if outcome.retry:
            steps.append(
                lambda: self.outbox.mark_retry(outcome.retry, outcome.retry_reason)
            )
        if outcome.attention:
            steps.append(lambda: self.outbox.mark_needs_attention(outcome.attention))
        if outcome.release:
            steps.append(lambda: self.outbox.release(outcome.release))
        for step in steps:
            self._retry_locked(step, deadline)
        for row, _ in outcome.attention:
            logger.info(
                "Lead %s revision %d needs attention", row.lead_id, row.revision
            )

    def _retry_locked(self, step: Callable[[], None], deadline: float) -> None:
        pause = 0.05
        for tries in itertools.count(1):
            try:
                step()
                return
            except OperationalError as exc:
                if time.monotonic() + pause > deadline:
                    logger.error(
                        "Could not record sync results, the database stayed locked "
                        "(%s); the rows will be resent when their lease ends",
                        exc.orig,
                    )
                    return
                logger.log(
                    logging.WARNING if tries == 1 else logging.DEBUG,
                    "Database busy while recording sync results (%s), try %d; retrying",
                    exc.orig,
                    tries,
                )
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    # Requests, tokens and limits.

    def _call(self, send: Callable[[str], T]) -> T:
        """Send with a token; on a 401, refresh once and resend the same request."""
        token = self.tokens.token()
        try:
            return self._limited(lambda: send(token))
        except TokenRejected:
            logger.info("The CRM rejected the token; refreshing it and resending")
            self.tokens.invalidate(token)
        token = self.tokens.token()
        try:
            return self._limited(lambda: send(token))
        except TokenRejected:
            raise TransientError(
                "The CRM rejected a token it had just issued; retrying later"
            ) from None

    def _limited(self, request: Callable[[], T]) -> T:
        if not self.limiter.acquire(self._stop):
            raise _Stopped
        try:
            return request()
        except TransientError as exc:
            if exc.retry_after_s is not None:
                self.limiter.block_for(exc.retry_after_s)
            raise

    def _fetch_token(self) -> TokenGrant:
        grant = self._limited(self.connector.authenticate)
        with self._lock:
            accepted_again = bool(self._config_error)
            self._config_error = ""
        if accepted_again:
            logger.info("The CRM accepts the configured credentials again")
        return grant

    def _on_metric(self, metric: RequestMetric) -> None:
        self._requests += 1
        if self._on_request is None:
            return
        try:
            self._on_request(metric)
        except Exception:
            logger.exception("The on_request callback failed")

    # Health and backoff bookkeeping.

    def _note_success(self) -> None:
        with self._lock:
            if self._streak:
                logger.info(
                    "CRM requests succeed again after %d failed attempts in %.0f s",
                    self._streak,
                    time.monotonic() - self._streak_started,
                )
            self._failures = 0
            self._streak = 0
            self._resume_at = 0.0
            self._reachable = True
            self._last_error = ""
            self._last_success_at = utcnow()

    def _note_credentials_rejected(self, exc: CredentialsRejected) -> None:
        """Wait at the backoff cap, logging once a change of the rejection reason."""
        with self._lock:
            changed = exc.reason != self._config_error
            self._config_error = exc.reason
            self._last_error = exc.reason
            self._reachable = True
            self._resume_at = time.monotonic() + self.settings.backoff_cap_s
        logger.log(
            logging.ERROR if changed else logging.DEBUG,
            "%s Sending is paused; trying again every %.0f s",
            exc.reason,
            self.settings.backoff_cap_s,
        )

    def _note_failure(
        self,
        reason: str,
        *,
        unreachable: bool,
        at_least_s: float | None = None,
        probe: bool = False,
    ) -> None:
        # Failed health probes and failed sends back off on separate counts, so a
        # long outage does not leave a long backoff behind once the CRM is back.
        with self._lock:
            if probe:
                self._probe_failures += 1
                failures = self._probe_failures
            else:
                self._failures += 1
                failures = self._failures
            cap = self.settings.backoff_cap_s
            if probe:
                # A health check is one small GET, so while the CRM is down it is
                # repeated more often than a send, and a returning CRM is noticed
                # within probe_cap_s rather than the full backoff cap.
                cap = min(cap, self.settings.probe_cap_s)
            delay = full_jitter(failures, self.settings.backoff_base_s, cap, self._rng)
            delay = max(delay, at_least_s or 0.0)
            self._resume_at = time.monotonic() + delay
            if unreachable:
                self._reachable = False
            self._last_error = reason
            if not self._streak:
                self._streak_started = time.monotonic()
            self._streak += 1
            streak = self._streak
        # One WARNING when a streak of failed requests and health checks starts and
        # every 20th failure of it, else DEBUG.
        level = logging.WARNING if streak % 20 == 1 else logging.DEBUG
        logger.log(
            level,
            "Sync %s failed (%s), failure %d in a row; next try in %.1f s",
            "health check" if probe else "request",
            reason,
            streak,
            delay,
        )

    def _probe(self) -> bool:
        self._last_attempt = time.monotonic()
        try:
            self._limited(self.connector.health)
        except TransientError as exc:
            self._note_failure(
                exc.reason, unreachable=True, at_least_s=exc.retry_after_s, probe=True
            )
            return False
        with self._lock:
            recovered = self._reachable is False
            failed_checks = self._probe_failures
            self._reachable = True
            self._probe_failures = 0
        if recovered:
            # Rows that failed only because the CRM was unreachable need not wait out
            # their own backoff now that it responds again.
            logger.info(
                "The CRM responds to its health check again after %d failed checks",
                failed_checks,
            )
            try:
                self.outbox.make_due()
            except OperationalError as exc:
                logger.warning(
                    "Database busy, retry times left as they are (%s)", exc.orig
                )
        return True

    # The loop.

    def run_forever(self, stop: threading.Event) -> None:
        """Sync until ``stop`` is set; the batch in flight then finishes first."""
        self._loop(stop, lambda: False)

    def drain(self, stop: threading.Event, timeout_s: float) -> QueueStats:
        """Sync until no lead is waiting, ``stop`` is set or ``timeout_s`` passes.

        It also ends early when the CRM rejects the credentials (see
        :attr:`config_error`), because waiting does not fix them.

        Returns:
            The outbox counts at the end: ``waiting == 0`` means every sendable lead is
            synced, and ``needs_attention`` counts the ones that wait for a person.
        """
        deadline = time.monotonic() + timeout_s

        def finished() -> bool:
            if time.monotonic() >= deadline:
                return True
            try:
                return self.outbox.queue_stats().waiting == 0
            except OperationalError:
                return False

        self._loop(stop, finished, deadline=deadline, halt_on_config_error=True)
        return self.outbox.queue_stats()

    def _loop(
        self,
        stop: threading.Event,
        finished: Callable[[], bool],
        *,
        deadline: float | None = None,
        halt_on_config_error: bool = False,
    ) -> None:
        self._stop = stop
        logger.info("Sync engine started")
        try:
            while not stop.is_set():
                if halt_on_config_error and self.config_error:
                    return
                if self._step(stop, deadline):
                    continue
                if finished():
                    return
                self._sleep(stop, self._idle_wait(), deadline)
        finally:
            logger.info("Sync engine stopped")

    def _step(self, stop: threading.Event, deadline: float | None) -> bool:
        """Do the next thing that is due; return True when work may be waiting."""
        if self._paused.is_set():
            return False
        # Wait out a Retry-After before claiming, so the lease covers only the send.
        limiter_wait = self.limiter.delay()
        if limiter_wait > 0:
            self._sleep(stop, limiter_wait, deadline, wakeable=False)
            return not (deadline and time.monotonic() >= deadline)
        wait = self._resume_at - time.monotonic()
        if wait > 0:
            if self._sleep(stop, wait, deadline):
                self._bring_forward()
            return not (deadline and time.monotonic() >= deadline)
        if self._reachable is False and not self._probe():
            return not (deadline and time.monotonic() >= deadline)
        linger = self._linger_delay()
        if linger > 0:
            self._sleep(stop, linger, deadline, wakeable=False)
        try:
            report = self.run_once()
        except SyncError as exc:
            self._note_failure(exc.reason, unreachable=False)
            return True
        return report.claimed > 0 and not (deadline and time.monotonic() >= deadline)

    def _linger_delay(self) -> float:
        """Return how long to wait so that a stream of saves fills the next batch."""
        if self._last_batch_full:
            return 0.0
        since_last = time.monotonic() - self._last_attempt
        return max(0.0, self.settings.batch_linger_s - since_last)

    def _bring_forward(self) -> None:
        with self._lock:
            earliest = max(
                time.monotonic(), self._last_attempt + self.settings.wake_interval_s
            )
            self._resume_at = min(self._resume_at, earliest)

    def _idle_wait(self) -> float:
        if self._paused.is_set():
            return self.settings.idle_poll_s
        try:
            due = self.outbox.next_due_at()
        except OperationalError:
            return self.settings.idle_poll_s
        if due is None:
            return self.settings.idle_poll_s
        # The floor keeps the loop from spinning on rows it cannot claim yet, such as
        # a newer revision of a lead whose older row another process has in flight.
        until_due = (due - utcnow()).total_seconds()
        return max(MIN_IDLE_WAIT_S, min(self.settings.idle_poll_s, until_due))

    def _sleep(
        self,
        stop: threading.Event,
        seconds: float,
        deadline: float | None,
        *,
        wakeable: bool = True,
    ) -> bool:
        """Wait up to ``seconds``; return True when :meth:`wake` ended the wait."""
        end = time.monotonic() + seconds
        if deadline is not None:
            end = min(end, deadline)
        while not stop.is_set():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            if not wakeable:
                stop.wait(min(remaining, SLEEP_SLICE_S))
            elif self._wake_event.wait(min(remaining, SLEEP_SLICE_S)):
                self._wake_event.clear()
                return True
        return False
