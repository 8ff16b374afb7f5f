"""The staff panel's sync summary: CRM reachability, queue, last sync, stale alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from kiosk.gui.staff.elided_label import ElidedLabel


def as_utc(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC time; naive times are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def describe_age(seconds: float) -> str:
    """Return a duration such as ``"42 s"``, ``"17 min"`` or ``"2 h 5 min"``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def count_text(count: int, singular: str, plural: str) -> str:
    """Return ``"1 lead"`` or ``"2 leads"``: the count with the matching noun."""
    return f"{count} {singular if count == 1 else plural}"


def queue_text(stats: Any) -> str:
    """Describe the outbox counts with each row in exactly one group.

    ``retry_wait`` rows are shown as retrying and not again as queued, so one lead
    that failed once reads "0 queued, 1 retrying".
    """
    queued = stats.pending + stats.in_flight
    attention = count_text(stats.needs_attention, "needs", "need")
    return (
        f"Queue: {queued} queued, {stats.retry_wait} retrying, "
        f"{attention} attention, {stats.synced} synced"
    )


class SyncStatusView(QWidget):
    """CRM reachability, queue depth, last successful sync, next retry and an alert.

    The alert banner shows when the oldest lead still waiting to reach the CRM was
    captured longer ago than ``stale_alert_minutes``.
    """

    def __init__(self, stale_alert_minutes: float, parent: QWidget | None = None):
        super().__init__(parent)
        self._stale_alert_s = stale_alert_minutes * 60.0
        self.banner = _plain_label()
        self.banner.setObjectName("staleAlert")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background:#b3261e;color:white;padding:8px;font-weight:bold;"
        )
        self.banner.hide()
        self.crm_label = ElidedLabel("CRM: checking...")
        self.queue_label = ElidedLabel()
        self.last_sync_label = ElidedLabel()
        self.next_retry_label = ElidedLabel()
        self._status: Any = None
        self._probe: tuple[bool, Any, Any] | None = None
        self._build_layout()

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.addWidget(self.crm_label, 0, 0)
        grid.addWidget(self.queue_label, 0, 1)
        grid.addWidget(self.last_sync_label, 1, 0)
        grid.addWidget(self.next_retry_label, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addLayout(grid)

    def show_status(self, status: Any, now: datetime | None = None) -> None:
        """Update every label from an engine status snapshot."""
        now = now or datetime.now(UTC)
        stats = status.stats
        self._status = status
        self.crm_label.setText(self._crm_text(status))
        self.queue_label.setText(queue_text(stats))
        self.last_sync_label.setText(
            "Last successful sync: " + _when(as_utc(status.last_success_at), now)
        )
        self.next_retry_label.setText(self._next_retry_text(status, now))
        self._update_banner(as_utc(stats.oldest_waiting_at), now)

    def show_probe(self, reachable: bool) -> None:
        """Show the result of a health check made outside the sync engine.

        The engine learns that the CRM went away only when a request fails, which
        can be minutes away when nothing is queued. The check's result is shown
        until the engine's own reachability or last successful sync changes.
        """
        status = self._status
        engine_view = (None, None) if status is None else _engine_view(status)
        self._probe = (reachable, *engine_view)
        if status is not None:
            self.crm_label.setText(self._crm_text(status))

    def _reachable(self, status: Any) -> bool | None:
        if self._probe is not None:
            reachable, *seen = self._probe
            if tuple(seen) == _engine_view(status):
                return reachable
            self._probe = None
        return status.reachable  # type: ignore[no-any-return]

    def _crm_text(self, status: Any) -> str:
        reachable = self._reachable(status)
        if reachable is None:
            reach = "CRM: not contacted yet"
        elif reachable:
            reach = "CRM: reachable"
        else:
            reach = "CRM: not reachable (leads stay queued)"
        return reach + (" - sync paused" if status.paused else "")

    def _next_retry_text(self, status: Any, now: datetime) -> str:
        when = as_utc(status.next_retry_at)
        if when is None:
            return "Next retry: none scheduled"
        seconds = (when - now).total_seconds()
        if seconds <= 0:
            return "Next retry: due now"
        return f"Next retry: in {describe_age(seconds)}"

    def _update_banner(self, oldest: datetime | None, now: datetime) -> None:
        age = None if oldest is None else (now - oldest).total_seconds()
        if age is None or age <= self._stale_alert_s:
            self.banner.hide()
            return
        self.banner.setText(
            f"The oldest lead waiting for the CRM was captured {describe_age(age)} "
            "ago. Check the CRM connection and settings. The leads stay safe on "
            "this kiosk."
        )
        self.banner.show()


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    local = value.astimezone().strftime("%H:%M:%S")
    return f"{local} ({describe_age((now - value).total_seconds())} ago)"


def _engine_view(status: Any) -> tuple[Any, Any]:
    return (status.reachable, status.last_success_at)
