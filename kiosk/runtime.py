"""The kiosk's non-GUI parts wired together: store, metrics, CRM connector, sync engine.

``kiosk scan``, ``kiosk burst`` and the window share one :class:`Runtime`. It opens the
lead store, starts the embedded AcmeCRM server when no CRM URL is configured, and builds
the sync engine that pushes the outbox to the CRM. Headless commands run the engine in a
plain thread (:meth:`Runtime.start_sync_thread`), while the window wraps
``runtime.sync_engine`` in its own QThread worker. Nothing here imports Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kiosk.config import Config, default_db_url, user_data_dir
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from kiosk.store import LeadStore, SavedLead

log = logging.getLogger(__name__)

EMBEDDED_CRM_LABEL = "Demo CRM (local)"
EMBEDDED_CRM_DB_NAME = "acmecrm.sqlite3"

# Metric kinds this module records; the metrics panel reads them back by these names.
METRIC_SAVE = "save_commit"
METRIC_CRM_REQUEST = "crm_request"

_SYNC_THREAD_JOIN_S = 15.0
_IDLE_POLL_S = 0.05

QUEUE_SAMPLE_S = 5.0
"""Seconds between two samples of the queue depth (the ``queue_depth`` metric)."""


def is_loopback_url(url: str) -> bool:
    """Is the URL's host a loopback address (127.0.0.0/8, ::1 or ``localhost``)?"""
    from sync_daemon.connectors.acme import is_loopback_host

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return is_loopback_host(host)


def check_crm_url(url: str) -> str:
    """Return the CRM base URL in the form the connector uses, or raise.

    Raises:
        KioskError: the URL is not http(s) with a host, has an invalid port, carries
            credentials, a query or a fragment, or is plain http to a host that is not
            a loopback address. The message never shows credentials.
    """
    from sync_daemon.connectors.acme import InsecureUrlError
    from sync_daemon.connectors.acme import check_crm_url as check_connector_url

    try:
        return check_connector_url(url)
    except InsecureUrlError as exc:
        raise KioskError(str(exc)) from None


class Runtime:
    """The store, metrics, CRM connector and sync engine of one kiosk process.

    Attributes:
        config: the configuration it was built from.
        db_url: the SQLAlchemy URL of the lead store.
        store: the open :class:`kiosk.store.LeadStore`.
        metrics: the :class:`kiosk.store.metrics.MetricsRecorder` on that store.
        embedded_crm: the in-process AcmeCRM server, or ``None`` for an external CRM.
        crm_url: the base URL the connector sends to.
        crm_label: ``"Demo CRM (local)"`` for the embedded server, else the URL.
        sync_engine: the :class:`sync_daemon.engine.SyncEngine`.
    """

    def __init__(
        self,
        config: Config,
        db_url: str | None = None,
        crm_url: str | None = None,
        *,
        crm_data_dir: Path | None = None,
        queue_sample_s: float | None = QUEUE_SAMPLE_S,
    ) -> None:
        """Open the store and build the sync engine; start the embedded CRM if needed.

        Args:
            config: the kiosk configuration; ``config.crm.url`` is used when ``crm_url``
                is ``None``.
            db_url: the lead store's URL; ``None`` means the user data folder.
            crm_url: the CRM base URL; with neither it nor ``config.crm.url``, an
                embedded AcmeCRM server starts on a free loopback port.
            crm_data_dir: the folder of the embedded CRM's database (default: a
                ``demo-crm`` folder in the user data folder).
            queue_sample_s: seconds between two samples of the queue depth, taken in
                a thread until :meth:`close`; ``None`` takes no samples.

        Raises:
            KioskError: the CRM URL is unusable.
            ValueError: ``queue_sample_s`` is zero or negative.
        """
        if queue_sample_s is not None and queue_sample_s <= 0:
            raise ValueError(f"queue_sample_s must be positive, got {queue_sample_s}")
        self.config = config
        self.db_url = db_url or default_db_url()
        self.embedded_crm: Any = None
        self._stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self._sampler_thread: threading.Thread | None = None
        self._closed = False
        self._metric_failures = 0

        configured_url = crm_url or config.crm.url
        checked_url = check_crm_url(configured_url) if configured_url else ""
        self.store: LeadStore = _open_store(self.db_url)
        try:
            if checked_url:
                self.crm_url = checked_url
                self.crm_label = checked_url
            else:
                self.embedded_crm = _start_embedded_crm(crm_data_dir, config)
                self.crm_url = str(self.embedded_crm.url)
                self.crm_label = EMBEDDED_CRM_LABEL
            self.metrics = _metrics_recorder(self.store)
            self.sync_engine = self._build_engine()
        except BaseException:
            self._release()
            raise
        if queue_sample_s is not None:
            self._start_queue_sampler(queue_sample_s)
        log.info(
            "Runtime ready: store %s, CRM %s",
            _redact_db_url(self.db_url),
            self.crm_label,
        )

    def _build_engine(self) -> Any:
        from sync_daemon.connectors.acme import AcmeConnector
        from sync_daemon.engine import EngineSettings, SyncEngine
        from sync_daemon.mapping import load_mapping

        crm = self.config.crm
        connector = AcmeConnector(
            self.crm_url,
            api_key=crm.api_key,
            operator_email=crm.operator_email,
            timeout_s=crm.timeout_s,
        )
        sync = self.config.sync
        settings = EngineSettings(
            batch_size=sync.batch_size,
            lease_s=sync.lease_s,
            backoff_base_s=sync.backoff_base_s,
            backoff_cap_s=sync.backoff_cap_s,
            rate_limit_per_minute=sync.rate_limit_per_minute,
            idle_poll_s=sync.idle_poll_s,
        )
        return SyncEngine(
            _store_engine(self.store, self.db_url),
            connector,
            load_mapping("acme"),
            settings,
            on_request=self._on_request,
        )

    # -- saving ---------------------------------------------------------------------

    def save_lead(
        self,
        fields: Mapping[str, Any],
        lead_id: str | None = None,
        *,
        payload_text: str = "",
        record_metric: bool = True,
    ) -> SavedLead:
        """Save a lead (or a new revision of ``lead_id``) durably and wake the engine.

        The save latency is recorded as the ``save_commit`` metric unless
        ``record_metric`` is false (the burst records its latencies after the clock
        stops, so metric writes do not compete with its saves).
        """
        started = time.perf_counter()
        saved = self.store.save_lead(fields, lead_id=lead_id, payload_text=payload_text)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        log.debug("Saved lead %s revision %s", saved.lead_id, saved.revision)
        self.sync_engine.wake()
        if record_metric:
            self.record_metric(METRIC_SAVE, elapsed_ms)
        return saved

    save_contact_lead = save_lead

    def save_leads(
        self,
        leads: Sequence[tuple[Mapping[str, Any], str]],
        *,
        record_metric: bool = True,
    ) -> list[SavedLead]:
        """Save several new leads, given as (fields, payload text), in one transaction.

        Each lead gets its own outbox row; the commit is durable before this returns.
        The transaction's duration is recorded once for each lead as ``save_commit``.
        """
        from kiosk.store import NewLead

        started = time.perf_counter()
        saved = self.store.save_many(
            [
                NewLead(fields, payload_text=payload_text)
                for fields, payload_text in leads
            ]
        )
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        log.debug("Saved %d new leads in one transaction", len(saved))
        self.sync_engine.wake()
        if record_metric:
            for _ in saved:
                self.record_metric(METRIC_SAVE, elapsed_ms)
        return saved

    def record_metric(
        self, kind: str, value_ms: float, ok: bool = True, reason: str = ""
    ) -> None:
        """Record one measurement; an error while storing it is logged, not raised."""
        try:
            self.metrics.record(kind, value_ms, ok=ok, reason=reason)
        except Exception as exc:  # metrics must not break a save or a sync
            self._metric_failures += 1
            if self._metric_failures == 1 or self._metric_failures % 100 == 0:
                log.warning(
                    "Could not record the %s metric (%d failures so far): %s",
                    kind,
                    self._metric_failures,
                    exc,
                )

    def _on_request(self, metric: Any) -> None:
        self.record_metric(
            METRIC_CRM_REQUEST, float(metric.latency_ms), bool(metric.ok), metric.reason
        )

    # -- sync -----------------------------------------------------------------------

    def start_sync_thread(self) -> None:
        """Run the sync engine in a daemon thread until :meth:`close`."""
        if self._sync_thread is not None:
            return
        self._sync_thread = threading.Thread(
            target=self._run_engine, name="kiosk-sync", daemon=True
        )
        self._sync_thread.start()

    def _run_engine(self) -> None:
        try:
            self.sync_engine.run_forever(self._stop)
        except Exception:
            log.exception("The sync thread stopped on an unexpected error")
            raise

    def _start_queue_sampler(self, interval_s: float) -> None:
        self._sampler_thread = threading.Thread(
            target=self._sample_queue_depth,
            args=(interval_s,),
            name="kiosk-queue-sampler",
            daemon=True,
        )
        self._sampler_thread.start()

    def _sample_queue_depth(self, interval_s: float) -> None:
        """Record the number of waiting leads every ``interval_s`` until close()."""
        failures = 0
        while not self._stop.wait(interval_s):
            try:
                stats = self.queue_stats()
                waiting = stats.pending + stats.in_flight + stats.retry_wait
                self.metrics.record_queue_depth(int(waiting))
            except Exception as exc:  # the next sample tries again
                failures += 1
                if failures == 1 or failures % 100 == 0:
                    log.warning(
                        "Could not sample the queue depth (%d failures so far): %s",
                        failures,
                        exc,
                    )

    def queue_stats(self) -> Any:
        """Return the outbox counts (:class:`sync_daemon.outbox.QueueStats`)."""
        return self.sync_engine.status().stats

    def wait_until_settled(self, deadline: float) -> Any | None:
        """Wait until nothing sendable is left in the outbox.

        Args:
            deadline: a ``time.monotonic()`` value.

        Returns:
            The final queue stats (pending, in flight and retry-wait all zero), or
            ``None`` when the deadline passed with leads still waiting.
        """
        while True:
            stats = self.queue_stats()
            if stats.pending == 0 and stats.in_flight == 0 and stats.retry_wait == 0:
                return stats
            if time.monotonic() >= deadline:
                return None
            # No wake() here: it would cut short the engine's backoff from a down CRM.
            time.sleep(_IDLE_POLL_S)

    # -- shutdown -------------------------------------------------------------------

    def close(self) -> None:
        """Stop the sync thread and the embedded CRM, and release the database."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        thread = self._sync_thread
        if thread is not None:
            self.sync_engine.wake()
            thread.join(_SYNC_THREAD_JOIN_S)
            if thread.is_alive():
                log.warning(
                    "The sync thread did not stop within %.0f s", _SYNC_THREAD_JOIN_S
                )
        if self._sampler_thread is not None:
            self._sampler_thread.join(_SYNC_THREAD_JOIN_S)
        self._release()

    def _release(self) -> None:
        metrics = getattr(self, "metrics", None)
        if metrics is not None:
            try:
                metrics.flush()
            except Exception:  # the leads are safe, only buffered figures are lost
                log.exception("Could not write the buffered metrics at shutdown")
        if self.embedded_crm is not None:
            self.embedded_crm.stop()
        close_store = getattr(self.store, "close", None)
        if close_store is not None:
            close_store()
        else:
            _store_engine(self.store, self.db_url).dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _open_store(db_url: str) -> LeadStore:
    from kiosk.store import open_store

    return open_store(db_url)


# Metrics older than this are deleted at start, so the queue-depth samples (about 720
# rows an hour) do not grow the database without bound.
METRICS_RETENTION = timedelta(days=30)


def _metrics_recorder(store: LeadStore) -> Any:
    from kiosk.store.metrics import MetricsRecorder

    recorder = MetricsRecorder(store)
    pruned = recorder.prune(datetime.now(UTC) - METRICS_RETENTION)
    if pruned:
        log.info("Deleted %d metric records older than %s", pruned, METRICS_RETENTION)
    return recorder


def _store_engine(store: LeadStore, db_url: str) -> Any:
    """Return the store's SQLAlchemy engine so the sync engine shares its pool."""
    engine = getattr(store, "engine", None)
    return engine if engine is not None else db_url


def _start_embedded_crm(data_dir: Path | None, config: Config) -> Any:
    from acmecrm.embedded import start_server

    folder = data_dir if data_dir is not None else user_data_dir() / "demo-crm"
    folder.mkdir(parents=True, exist_ok=True)
    server = start_server(
        folder / EMBEDDED_CRM_DB_NAME, api_key=config.crm.api_key or None
    )
    log.info("Started the embedded AcmeCRM server at %s", server.url)
    return server


def _redact_db_url(db_url: str) -> str:
    """Return the URL without a password, for logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL fails later, with its own error
        return "<database>"
