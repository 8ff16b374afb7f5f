"""AcmeCRM endpoints: ``/api/v1/*`` and the loopback-only ``/_admin/*``.

Faults, authentication and the rate limit run before these views, in
:mod:`acmecrm.server`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from acmecrm.server import current_service, error_response
from acmecrm.storage import KEY_REUSED_BODY, UpsertResult
from acmecrm.validation import (
    MAX_BULK,
    MAX_KEY_LENGTH,
    Errors,
    ValidatedContact,
    validate_contact,
)

logger = logging.getLogger(__name__)

api = Blueprint("api", __name__, url_prefix="/api/v1")
admin = Blueprint("admin", __name__, url_prefix="/_admin")

MAX_PAGE = 100
DEFAULT_PAGE = 50
# Python's sqlite3 cannot bind an integer above 2**63 - 1 and raises OverflowError.
# A billion is far more contacts than this stand-in server ever stores.
MAX_OFFSET = 1_000_000_000
# The operator fields of an auth request and their maximum lengths, in characters.
AUTH_FIELDS = {"email": 254, "name": 100, "company": 200}
ViewResult = Response | tuple[Response, int] | tuple[Response, int, dict[str, str]]


class BadRequestBody(Exception):
    """The request body is not the JSON object the endpoint expects."""

    def __init__(self, response: tuple[Response, int]) -> None:
        super().__init__("bad request body")
        self.response = response


def _json_object() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if raw and not request.is_json:
        raise BadRequestBody(_unsupported_media_type(request.mimetype))
    try:
        body = json.loads(raw) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid_json(str(exc)) from exc
    except RecursionError:
        raise _invalid_json("it is nested too deeply") from None
    except ValueError:
        # json.loads raises a plain ValueError for an integer beyond the 4300-digit
        # limit of int().
        raise _invalid_json("a number has too many digits") from None
    if not isinstance(body, dict):
        raise BadRequestBody(_validation_failed({"body": ["must be a JSON object"]}))
    return body


def _unsupported_media_type(mimetype: str) -> tuple[Response, int]:
    content_type = f"Content-Type {mimetype[:100]!r}" if mimetype else "no Content-Type"
    g.log_reason = f"body with {content_type}, not JSON"
    return error_response(
        415,
        "unsupported_media_type",
        f"the body has {content_type}; send JSON with Content-Type: application/json",
    )


def _invalid_json(reason: str) -> BadRequestBody:
    return BadRequestBody(
        error_response(400, "invalid_json", f"the body is not valid JSON: {reason}")
    )


def _validation_failed(errors: Errors) -> tuple[Response, int]:
    return error_response(
        422, "validation_failed", "the request has invalid fields", errors=errors
    )


@api.errorhandler(BadRequestBody)
def _bad_body(exc: BadRequestBody) -> tuple[Response, int]:
    return exc.response


@api.get("/health")
def health() -> ViewResult:
    """Report that the server is up."""
    return jsonify({"status": "ok"})


@api.post("/auth")
def auth() -> ViewResult:
    """Issue a bearer token for an operator."""
    service = current_service()
    body = _json_object()
    errors = _check_auth_body(body)
    if errors:
        return _validation_failed(errors)
    if not service.check_api_key(body.get("api_key")):
        g.log_reason = "wrong or missing API key"
        return error_response(
            401,
            "invalid_api_key",
            "the api_key is missing or wrong; use the key the server was started with",
        )
    ttl = service.faults.settings.token_ttl
    issued = service.tokens.issue(body["email"].strip(), ttl)
    return jsonify(
        {"token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}
    )


def _check_auth_body(body: dict[str, Any]) -> Errors:
    """Check the operator fields of an auth request: email required, the rest optional.

    The sync engine sends ``name`` and ``company`` too, ``company`` often empty.
    """
    errors: Errors = {}
    email = body.get("email")
    if email is None or (isinstance(email, str) and not email.strip()):
        errors["email"] = ["is required"]
    for name, limit in AUTH_FIELDS.items():
        if name in errors:
            continue
        value = body.get(name, "")
        if not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif len(value) > limit:
            errors[name] = [
                f"is too long ({len(value)} characters, maximum is {limit})"
            ]
    return errors


@api.post("/contacts")
def upsert_contact() -> ViewResult:
    """Create or update one contact by email, once per ``Idempotency-Key``."""
    service = current_service()
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        return _validation_failed(
            {"Idempotency-Key": [f"is longer than {MAX_KEY_LENGTH} characters"]}
        )
    contact, errors = validate_contact(_json_object())
    if contact is None:
        return _validation_failed(errors)

    result = service.storage.upsert(contact, key)
    if result.status == 422:
        return jsonify(result.body), 422
    _maybe_hold_response()
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return jsonify(result.body), result.status, headers


@api.post("/contacts/bulk")
def upsert_bulk() -> ViewResult:
    """Upsert up to 100 contacts, each with its own idempotency key."""
    service = current_service()
    items = _json_object().get("contacts")
    if not isinstance(items, list):
        return _validation_failed({"contacts": ["is required and must be a list"]})
    if len(items) > MAX_BULK:
        return _validation_failed(
            {
                "contacts": [
                    f"has {len(items)} contacts, maximum is {MAX_BULK}; "
                    "split them into several requests"
                ]
            }
        )

    results: list[dict[str, Any] | None] = [None] * len(items)
    valid: list[tuple[int, ValidatedContact, str]] = []
    for index, item in enumerate(items):
        contact, key, errors = _validate_bulk_item(item)
        if contact is None:
            results[index] = _bulk_failure(index, "validation_failed", errors)
        else:
            valid.append((index, contact, key))

    outcomes = service.storage.upsert_many([(c, k) for _, c, k in valid])
    for (index, _, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = _bulk_result(index, outcome)
    if outcomes:
        _maybe_hold_response()
    return jsonify({"results": results})


def _validate_bulk_item(
    item: Any,
) -> tuple[ValidatedContact | None, str, Errors]:
    if not isinstance(item, dict):
        return None, "", {"contact": ["must be a JSON object"]}
    fields = dict(item)
    key = fields.pop("idempotency_key", "") or ""
    if not isinstance(key, str):
        return None, "", {"idempotency_key": ["must be a string"]}
    if len(key) > MAX_KEY_LENGTH:
        return (
            None,
            "",
            {"idempotency_key": [f"is longer than {MAX_KEY_LENGTH} characters"]},
        )
    contact, errors = validate_contact(fields)
    return contact, key.strip(), errors


def _bulk_failure(index: int, error: str, errors: Errors) -> dict[str, Any]:
    return {"index": index, "status": 422, "error": error, "errors": errors}


def _bulk_result(index: int, outcome: UpsertResult) -> dict[str, Any]:
    if outcome.status == 422:
        return _bulk_failure(
            index,
            KEY_REUSED_BODY["error"],
            {"idempotency_key": ["was already used with a different body"]},
        )
    return {
        "index": index,
        "status": outcome.status,
        "acme_id": outcome.acme_id,
        "replayed": outcome.replayed,
    }


def _maybe_hold_response() -> None:
    """Hold a stored write's response when the apply-then-timeout fault draws it."""
    service = current_service()
    settings = service.faults.settings
    if service.faults.chance(settings.apply_then_timeout_rate):
        logger.info(
            "request %s: stored, holding the response %d ms (apply_then_timeout fault)",
            g.request_id,
            settings.hold_ms,
        )
        service.stopping.wait(settings.hold_ms / 1000)


@api.get("/contacts")
def list_contacts() -> ViewResult:
    """List contacts in creation order, filtered by company or email."""
    errors: Errors = {}
    limit = _int_arg("limit", DEFAULT_PAGE, 1, MAX_PAGE, errors)
    offset = _int_arg("offset", 0, 0, MAX_OFFSET, errors)
    if errors:
        return _validation_failed(errors)
    contacts, total = current_service().storage.list_page(
        limit=limit,
        offset=offset,
        company=request.args.get("company", ""),
        email=request.args.get("email", ""),
    )
    return jsonify({"contacts": contacts, "total": total})


def _int_arg(
    name: str, default: int, minimum: int, maximum: int, errors: Errors
) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    value: int | None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        errors[name] = [f"must be an integer from {minimum} to {maximum}"]
        return default
    return value


@api.get("/contacts/<acme_id>")
def get_contact(acme_id: str) -> ViewResult:
    """Return one contact by its AcmeCRM id."""
    contact = current_service().storage.get(acme_id)
    if contact is None:
        return error_response(404, "not_found", "no contact has this acme_id")
    return jsonify(contact)


@admin.get("/stats")
def stats() -> ViewResult:
    """Return the contact count, write counters and responses by status."""
    return jsonify(current_service().stats())


@admin.get("/contacts")
def all_contacts() -> ViewResult:
    """Return every contact, unpaged and never faulted, for checks in tests."""
    contacts = current_service().storage.all_contacts()
    return jsonify({"contacts": contacts, "total": len(contacts)})


@admin.get("/faults")
def get_faults() -> ViewResult:
    """Return the fault settings now in force."""
    return jsonify(current_service().fault_settings())


@admin.post("/faults")
def set_faults() -> ViewResult:
    """Change some fault settings and return all of them."""
    try:
        body = _json_object()
        settings = current_service().set_faults(**body)
    except BadRequestBody as exc:
        return exc.response
    except ValueError as exc:
        return error_response(422, "invalid_faults", str(exc))
    logger.info("fault settings changed: %s", ", ".join(sorted(body)))
    return jsonify(settings)
