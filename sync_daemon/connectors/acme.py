"""AcmeCRM connector: one ``requests.Session``, explicit timeouts, typed errors."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from sync_daemon.auth import TokenGrant
from sync_daemon.connectors.base import (
    CredentialsRejected,
    ItemResult,
    RequestMetric,
    RequestRejected,
    TokenRejected,
    TransientError,
)
from sync_daemon.ratelimit import parse_retry_after
from sync_daemon.urls import redact_url

logger = logging.getLogger(__name__)

API = "/api/v1"
CONTACT_FIELDS = frozenset(
    {
        "acme_first_name", "acme_last_name", "acme_email", "acme_phone",
        "acme_company", "acme_job_title", "acme_linkedin", "acme_notes",
        "acme_lead_rating", "acme_consent_at", "acme_consent_version",
        "acme_badge_id", "acme_event", "acme_qualifiers", "acme_source",
    }
)  # fmt: skip
"""AcmeCRM's contact fields, checked when a mapping loads."""

MAX_BULK = 100
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class InsecureUrlError(ValueError):
    """A CRM URL that is invalid, or would expose credentials on the network."""


def check_crm_url(url: str) -> str:
    """Return the CRM base URL in canonical form, or raise when it is not acceptable.

    The canonical form has no trailing slash and no ``/api/v1`` suffix, because the
    connector appends the API path itself. A path before it (a reverse proxy's
    prefix) is kept.

    Raises:
        InsecureUrlError: the scheme is not http(s), there is no host, the port is
            invalid, the URL contains a user name, password, query or fragment, or it
            is plain http to a host other than loopback. The message shows the URL
            with any credentials hidden.
    """
    safe_url = redact_url(url)
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # such as an unclosed "[" of an IPv6 address
        parts = urlsplit("")
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise InsecureUrlError(
            f"CRM URL {safe_url!r} is not an http(s) URL with a host, such as "
            "https://crm.example.com."
        )
    if parts.username is not None or parts.password is not None:
        raise InsecureUrlError(
            f"CRM URL {safe_url!r} contains a user name or password. Remove it "
            "from the URL and set the API key in [crm] api_key or "
            "KIOSK_CRM_API_KEY instead."
        )
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InsecureUrlError(
            f"CRM URL {safe_url!r} has an invalid port; use a number from 1 to 65535, "
            "such as https://crm.example.com:8443."
        )
    if parts.query or parts.fragment:
        raise InsecureUrlError(
            f"CRM URL {safe_url!r} contains a query or fragment; give the "
            "server's base URL only, such as https://crm.example.com."
        )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise InsecureUrlError(
            f"CRM URL {safe_url!r} uses plain http to a remote host; use https, "
            "because the connection carries the API key and visitors' contact details."
        )
    base = url.strip().rstrip("/")
    if base.endswith(API):
        base = base[: -len(API)].rstrip("/")
    return base


def is_loopback_host(host: str) -> bool:
    """Is ``host`` ``localhost`` or a loopback address (127.0.0.0/8 or ::1)?

    A name such as ``127.example.com`` is not: only a literal address counts.
    """
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AcmeConnector:
    """Client of the AcmeCRM API.

    Args:
        base_url: the server's URL without a path, such as ``http://127.0.0.1:8765``.
        api_key: sent to ``/auth`` when the server requires one.
        operator_email: the operator the token is issued to.
        timeout_s: connect and read timeout of every request, in seconds.

    Raises:
        InsecureUrlError: ``base_url`` is not acceptable (see :func:`check_crm_url`).
        ValueError: ``timeout_s`` is not a positive number.
    """

    name = "acme"
    max_batch = MAX_BULK

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        operator_email: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = check_crm_url(base_url)
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(
                f"timeout_s must be a positive number of seconds, got {timeout_s}"
            )
        self._api_key = api_key
        self._operator_email = operator_email or "kiosk@booth.invalid"
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "booth-kiosk-sync/0.1"
        self.listeners: list[Callable[[RequestMetric], None]] = []

    def __repr__(self) -> str:
        return f"AcmeConnector({self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def authenticate(self) -> TokenGrant:
        """Request a token from ``/auth``.

        Raises:
            CredentialsRejected: the server rejected the API key or operator (any 4xx
                but 408 and 429).
            TransientError: the server could not be reached or responded with 408,
                429 or 5xx.
        """
        body: dict[str, Any] = {
            "email": self._operator_email,
            "name": "Booth kiosk",
            "company": "",
        }
        if self._api_key:
            body["api_key"] = self._api_key
        response = self._post(f"{API}/auth", body, token=None, items=0)
        status = response.status_code
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientError(
                f"AcmeCRM responded with HTTP {status} to the token request",
                status=status,
                retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
                unreachable=status == 503,
            )
        if status != 200:
            raise _credentials_rejected(status, _describe(response))
        data = _json(response)
        token = data.get("token")
        expires_in = data.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise TransientError("AcmeCRM sent an auth response without a token")
        return TokenGrant(token=token, expires_in=float(expires_in))

    def health(self) -> None:
        """Check ``/health``; raise :class:`TransientError` unless the server is up."""
        started = time.time()
        url = self.base_url + f"{API}/health"
        try:
            response = self._session.get(url, timeout=self.timeout_s)
        except requests.RequestException as exc:
            self._notify(f"{API}/health", 0, started, ok=False, reason=_name(exc))
            raise TransientError(
                f"AcmeCRM is unreachable ({_name(exc)})", unreachable=True
            ) from None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        ok = response.status_code == 200
        reason = "" if ok else f"HTTP {response.status_code}"
        self._notify(
            f"{API}/health",
            response.status_code,
            started,
            ok=ok,
            reason=reason,
            retry_after_s=retry_after,
        )
        if not ok:
            raise TransientError(
                f"AcmeCRM health check responded with HTTP {response.status_code}",
                status=response.status_code,
                retry_after_s=retry_after,
                unreachable=True,
            )

    def send_bulk(
        self, token: str, items: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[ItemResult]:
        """Upsert up to 100 ``(idempotency key, contact)`` pairs in one request.

        Returns:
            One result per item, in request order.
        """
        if not 0 < len(items) <= MAX_BULK:
            raise ValueError(f"a bulk request carries 1 to {MAX_BULK} contacts")
        body = {
            "contacts": [{"idempotency_key": key, **contact} for key, contact in items]
        }
        response = self._post(
            f"{API}/contacts/bulk", body, token=token, items=len(items)
        )
        self._raise_for_request(response)
        return _bulk_results(_json(response), len(items))

    def send_one(self, token: str, key: str, contact: dict[str, Any]) -> ItemResult:
        """Upsert one contact with its idempotency key."""
        response = self._post(f"{API}/contacts", contact, token=token, items=1, key=key)
        if response.status_code == 422:
            return ItemResult(status=422, message=_describe(response))
        self._raise_for_request(response)
        data = _json(response)
        return ItemResult(status=response.status_code, crm_id=_acme_id(data))

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        token: str | None,
        items: int,
        key: str = "",
    ) -> requests.Response:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        started = time.time()
        try:
            response = self._session.post(
                self.base_url + path, json=body, headers=headers, timeout=self.timeout_s
            )
        except requests.Timeout as exc:
            self._notify(path, 0, started, ok=False, reason="timeout", items=items)
            raise TransientError(
                f"AcmeCRM did not respond within {self.timeout_s:g} s ({_name(exc)})"
            ) from None
        except requests.RequestException as exc:
            self._notify(path, 0, started, ok=False, reason=_name(exc), items=items)
            raise TransientError(
                f"AcmeCRM is unreachable ({_name(exc)})", unreachable=True
            ) from None
        ok = response.status_code < 400
        self._notify(
            path,
            response.status_code,
            started,
            ok=ok,
            reason="" if ok else f"HTTP {response.status_code}",
            retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
            items=items,
        )
        return response

    def _raise_for_request(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            raise TokenRejected("AcmeCRM rejected the token (HTTP 401)")
        if status in TRANSIENT_STATUSES:
            raise TransientError(
                f"AcmeCRM responded with HTTP {status}",
                status=status,
                retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
                unreachable=status == 503,
            )
        if status >= 500:
            raise TransientError(f"AcmeCRM responded with HTTP {status}", status=status)
        raise RequestRejected(_describe(response), status=status)

    def _notify(
        self,
        path: str,
        status: int,
        started: float,
        *,
        ok: bool,
        reason: str = "",
        retry_after_s: float | None = None,
        items: int = 0,
    ) -> None:
        metric = RequestMetric(
            endpoint=path,
            status=status,
            latency_ms=(time.time() - started) * 1000.0,
            ok=ok,
            reason=reason,
            sent_at=started,
            retry_after_s=retry_after_s,
            items=items,
        )
        for listener in self.listeners:
            listener(metric)


def _credentials_rejected(status: int, detail: str) -> CredentialsRejected:
    if status in (401, 403):
        reason = (
            f"AcmeCRM rejected the API key (HTTP {status}: {detail}). Check [crm] "
            "api_key in the configuration file or KIOSK_CRM_API_KEY."
        )
    else:
        reason = (
            f"AcmeCRM rejected the token request (HTTP {status}: {detail}). Check "
            "[crm] operator_email in the configuration file."
        )
    return CredentialsRejected(reason, status=status)


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise TransientError(
            f"AcmeCRM sent a body that is not JSON (HTTP {response.status_code})",
            status=response.status_code,
        ) from None
    if not isinstance(data, dict):
        raise TransientError("AcmeCRM sent a JSON body that is not an object")
    return data


def _acme_id(data: dict[str, Any]) -> str | None:
    value = data.get("acme_id")
    if value is None and isinstance(data.get("contact"), dict):
        value = data["contact"].get("acme_id")
    return str(value) if value is not None else None


def _describe(response: requests.Response) -> str:
    """Return the CRM's error in one line, such as ``acme_email: is not valid``."""
    try:
        data = response.json()
    except ValueError:
        return f"AcmeCRM responded with HTTP {response.status_code}"
    if not isinstance(data, dict):
        return f"AcmeCRM responded with HTTP {response.status_code}"
    return describe_errors(data, response.status_code)


def describe_errors(data: dict[str, Any], status: int) -> str:
    """Format an AcmeCRM error body: the field errors, else its error and message."""
    errors = data.get("errors")
    if isinstance(errors, dict) and errors:
        parts = []
        for field, messages in errors.items():
            if isinstance(messages, list):
                text = "; ".join(str(message) for message in messages)
            else:
                text = str(messages)
            parts.append(f"{field}: {text}")
        return ", ".join(parts)
    error = str(data.get("error") or f"HTTP {status}")
    message = str(data.get("message") or "")
    return f"{error}: {message}" if message else error


def _bulk_results(data: dict[str, Any], count: int) -> list[ItemResult]:
    raw = data.get("results")
    if not isinstance(raw, list):
        raise TransientError("AcmeCRM sent a bulk response without results")
    results = [ItemResult(status=0, message="missing from the CRM's response")] * count
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count:
            continue
        status = int(item.get("status", 0))
        if status in (200, 201):
            results[index] = ItemResult(status=status, crm_id=_acme_id(item))
        else:
            results[index] = ItemResult(
                status=status, message=describe_errors(item, status)
            )
    return results
