"""Results, metrics and errors of a CRM connector, independent of the CRM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sync_daemon.auth import TokenGrant


class SyncError(Exception):
    """Base of the errors a connector raises; ``reason`` is safe to log and show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(SyncError):
    """The request may succeed later: network error, timeout, 408, 429 or 5xx.

    Attributes:
        status: the HTTP status, or 0 when no response arrived.
        retry_after_s: the CRM's ``Retry-After`` in seconds, when it sent one.
        unreachable: True when the CRM did not respond at all or responded 503
            (service unavailable).
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = 0,
        retry_after_s: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after_s = retry_after_s
        self.unreachable = unreachable


class TokenRejected(SyncError):
    """The CRM responded with 401 to a request that carried a token."""


class CredentialsRejected(SyncError):
    """The CRM rejected the token request (bad API key or operator).

    Retrying does not help, so this is a configuration error, not a transient one.

    Attributes:
        status: the HTTP status of the rejection, such as 401.
    """

    def __init__(self, reason: str, *, status: int = 0) -> None:
        super().__init__(reason)
        self.status = status


class RequestRejected(SyncError):
    """The CRM rejected the whole request with a 4xx other than 401, 408 and 429."""

    def __init__(self, reason: str, *, status: int) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class ItemResult:
    """The CRM's result for one contact.

    Attributes:
        status: 200 updated, 201 created, or an error status such as 422.
        crm_id: the CRM's contact id when accepted.
        message: the CRM's reason when rejected, in CRM field names.
    """

    status: int
    crm_id: str | None = None
    message: str = ""

    @property
    def accepted(self) -> bool:
        """Did the CRM store the contact?"""
        return self.status in (200, 201) and bool(self.crm_id)


@dataclass(frozen=True)
class RequestMetric:
    """One HTTP request to the CRM, for metrics and for checking Retry-After.

    Attributes:
        endpoint: the path, such as ``/api/v1/contacts/bulk``.
        status: the HTTP status, 0 when no response arrived.
        latency_ms: time from sending to the end of the response.
        ok: the request did what it was for.
        reason: why not, when ``ok`` is False.
        sent_at: wall-clock time (Unix seconds) the request went out.
        retry_after_s: the ``Retry-After`` the response carried, if any.
        items: contacts carried by the request.
    """

    endpoint: str
    status: int
    latency_ms: float
    ok: bool
    reason: str = ""
    sent_at: float = 0.0
    retry_after_s: float | None = None
    items: int = 0


class Connector(Protocol):
    """A CRM client as the sync engine uses it."""

    name: str
    max_batch: int
    listeners: list[Callable[[RequestMetric], None]]

    def authenticate(self) -> TokenGrant: ...

    def health(self) -> None: ...

    def send_bulk(
        self, token: str, items: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[ItemResult]: ...

    def send_one(self, token: str, key: str, contact: dict[str, Any]) -> ItemResult: ...

    def close(self) -> None: ...
