"""The AcmeCRM Flask app: request hooks, faults, errors and the app factory.

The routes live in :mod:`acmecrm.routes`. Logs carry request ids, methods, paths and
status codes only: never tokens, API keys, query strings or contact data.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from acmecrm.faults import FaultSettings
from acmecrm.service import CrmService
from acmecrm.tokens import InvalidToken
from acmecrm.validation import MAX_BULK, max_contact_json_bytes

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/_admin"
# Endpoints that need no bearer token.
PUBLIC_PATHS = frozenset({f"{API_PREFIX}/auth", f"{API_PREFIX}/health"})
FAULT_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}
_MIB = 1024 * 1024
# The largest valid bulk request, plus a quarter for indentation and other whitespace,
# rounded up to whole MiB: 34 MiB with the field limits in acmecrm.validation.
MAX_BODY_BYTES = math.ceil(MAX_BULK * max_contact_json_bytes() * 1.25 / _MIB) * _MIB
_SERVICE_KEY = "acmecrm"


def create_app(
    db_path: str | os.PathLike[str],
    *,
    secret: str | None = None,
    api_key: str | None = None,
    faults: Mapping[str, Any] | FaultSettings | None = None,
) -> Flask:
    """Build the AcmeCRM app on the SQLite file ``db_path``.

    Args:
        db_path: The SQLite file; created with mode 0600 when missing.
        secret: The token signing secret; None reads ``ACMECRM_SECRET`` or the
            ``acmecrm.secret`` file beside the database (created when missing).
        api_key: When set, ``/api/v1/auth`` requires it.
        faults: Initial fault settings (see :class:`acmecrm.faults.FaultSettings`).

    Raises:
        ValueError: When a fault setting is unknown or invalid.
    """
    from acmecrm import routes

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[_SERVICE_KEY] = CrmService(
        db_path, secret=secret, api_key=api_key, faults=faults
    )
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.register_blueprint(routes.api)
    app.register_blueprint(routes.admin)
    return app


def get_service(app: Flask) -> CrmService:
    """Return the service state of an app built by :func:`create_app`."""
    service = app.extensions[_SERVICE_KEY]
    assert isinstance(service, CrmService)
    return service


def current_service() -> CrmService:
    """Return the service state of the app handling the current request."""
    from flask import current_app

    return get_service(current_app)


def error_response(
    status: int, error: str, message: str, **extra: Any
) -> tuple[Response, int]:
    """Build a JSON error ``{"error": ..., "message": ...}`` with ``status``."""
    return jsonify({"error": error, "message": message, **extra}), status


def is_loopback(address: str | None) -> bool:
    """Is ``address`` a loopback IP address (IPv4-mapped IPv6 included)?"""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _before_request() -> Any:
    g.request_id = uuid.uuid4().hex[:12]
    g.started = time.monotonic()
    path = request.path
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        if not is_loopback(request.remote_addr):
            return error_response(
                403, "forbidden", "the admin endpoints respond to loopback clients only"
            )
        return None
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return _apply_faults(current_service(), path)
    return None


def _apply_faults(service: CrmService, path: str) -> Any:
    settings = service.faults.settings
    if settings.down:
        return error_response(503, "service_unavailable", "AcmeCRM is down (injected)")
    if settings.latency_ms > 0:
        service.stopping.wait(settings.latency_ms / 1000)
    if service.faults.chance(settings.error_rate):
        status = service.faults.choice(tuple(FAULT_ERRORS))
        return error_response(status, FAULT_ERRORS[status], "injected server error")
    if path in PUBLIC_PATHS:
        return None
    return _authenticate(service, settings)


def _authenticate(service: CrmService, settings: FaultSettings) -> Any:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _invalid_token("missing bearer token; get one from /api/v1/auth")
    try:
        claims = service.tokens.verify(token.strip())
    except InvalidToken as exc:
        return _invalid_token(f"{exc}; get a new one from /api/v1/auth")
    retry_after = service.rate_limiter.acquire(claims["jti"], settings.rate_limit)
    if retry_after:
        response, status = error_response(
            429,
            "rate_limited",
            f"more than {settings.rate_limit} requests a minute for this token",
        )
        response.headers["Retry-After"] = str(retry_after)
        g.log_reason = f"rate limited, Retry-After {retry_after} s"
        return response, status
    return None


def _invalid_token(message: str) -> tuple[Response, int]:
    g.log_reason = message
    response, status = error_response(401, "invalid_token", message)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response, status


def _after_request(response: Response) -> Response:
    request_id = getattr(g, "request_id", "-")
    response.headers["X-Request-Id"] = request_id
    if request.path.startswith(API_PREFIX + "/") or request.path == API_PREFIX:
        current_service().count_status(response.status_code)
    elapsed_ms = (time.monotonic() - getattr(g, "started", time.monotonic())) * 1000
    # Client errors and injected faults are expected traffic here, so they are logged
    # at INFO, not WARNING.
    level = logging.INFO if response.status_code >= 400 else logging.DEBUG
    logger.log(
        level,
        "request %s %s %s -> %d in %.1f ms%s",
        request_id,
        request.method,
        request.path,
        response.status_code,
        elapsed_ms,
        f" ({g.log_reason})" if "log_reason" in g else "",
    )
    return response


def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    name = (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name or "request failed"
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length or MAX_BODY_BYTES
        g.log_reason = f"body larger than {limit} bytes"
        message = (
            f"the request body is larger than the maximum of {limit} bytes; "
            "send fewer contacts in each bulk request"
        )
    response, status = error_response(code, name, message)
    for header, value in exc.get_headers():
        if header.lower() != "content-type":
            response.headers[header] = value
    return response, status


def _unexpected_error(exc: Exception) -> Any:
    logger.error(
        "request %s %s %s failed: %s",
        getattr(g, "request_id", "-"),
        request.method,
        request.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(500, "internal_error", "unexpected server error")
