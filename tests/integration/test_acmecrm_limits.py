"""AcmeCRM input limits over HTTP: fault values, body size, nesting, content type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from acmecrm.embedded import RunningServer, start_server
from acmecrm.server import MAX_BODY_BYTES
from acmecrm.validation import MAX_BULK, MAX_KEY_LENGTH, MAX_QUALIFIERS_CHARS
from sync_daemon.connectors.acme import AcmeConnector
from tests.integration.test_acmecrm_api import SECRET, Client

# A character that takes 4 bytes in UTF-8 and 12 bytes once escaped as JSON.
WIDE = "😀"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "crm.db", secret=SECRET, faults={"rate_limit": 0})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(crm: RunningServer) -> Client:
    return Client(crm.url)


def _strict_json(text: str) -> Any:
    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=reject)


def _post_raw(url: str, body: str | bytes, **headers: str) -> requests.Response:
    headers.setdefault("Content-Type", "application/json")
    return requests.post(url, data=body, headers=headers, timeout=10)


# Fault settings


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"clock_skew_s": NaN}', "clock_skew_s: must be a number from -86400 to"),
        ('{"latency_ms": Infinity}', "latency_ms: must be an integer from 0 to 60000"),
        ('{"latency_ms": 1e12}', "latency_ms: must be an integer from 0 to 60000"),
        ('{"token_ttl": 1e20}', "token_ttl: must be an integer from 1 to 86400"),
        ('{"hold_ms": 1e20}', "hold_ms: must be an integer from 0 to 600000"),
        ('{"clock_skew_s": -1e12}', "clock_skew_s: must be a number from -86400 to"),
        ('{"rate_limit": 100001}', "rate_limit: must be an integer from 0 to 100000"),
    ],
)
def test_admin_faults_reject_absurd(
    crm: RunningServer, body: str, message: str
) -> None:
    before = crm.faults()
    response = _post_raw(f"{crm.url}/_admin/faults", body)
    after = requests.get(f"{crm.url}/_admin/faults", timeout=5)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_faults"
    assert message in response.json()["message"]
    assert _strict_json(after.text) == before


def test_auth_works_after_rejected_skew(crm: RunningServer) -> None:
    _post_raw(f"{crm.url}/_admin/faults", '{"clock_skew_s": NaN}')
    response = requests.post(
        f"{crm.url}/api/v1/auth", json={"email": "op@example.com"}, timeout=5
    )
    assert response.status_code == 200


def test_admin_faults_bad_value_applies_nothing(crm: RunningServer) -> None:
    response = _post_raw(
        f"{crm.url}/_admin/faults", '{"latency_ms": 5, "token_ttl": Infinity}'
    )
    assert response.status_code == 422
    assert crm.faults()["latency_ms"] == 0


def test_token_lifetime_is_ttl(crm: RunningServer, client: Client) -> None:
    for ttl in (2, 900):
        crm.set_faults(token_ttl=ttl)
        response = client.authenticate()
        claims = jwt.decode(client.token, options={"verify_signature": False})
        assert response.json()["expires_in"] == ttl
        assert claims["exp"] - claims["iat"] == ttl


# Auth body


def test_auth_empty_body_names_email(crm: RunningServer) -> None:
    response = requests.post(f"{crm.url}/api/v1/auth", json={}, timeout=5)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert response.json()["errors"] == {"email": ["is required"]}


def test_auth_rejects_blank_email(crm: RunningServer) -> None:
    body = {"email": "  ", "name": "Booth kiosk", "company": ""}
    response = requests.post(f"{crm.url}/api/v1/auth", json=body, timeout=5)
    assert response.status_code == 422
    assert response.json()["errors"] == {"email": ["is required"]}


def test_auth_name_company_optional(crm: RunningServer) -> None:
    response = requests.post(
        f"{crm.url}/api/v1/auth", json={"email": "op@example.com"}, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_auth_checks_field_types(crm: RunningServer) -> None:
    body = {"email": "op@example.com", "name": 5, "company": "c" * 201}
    response = requests.post(f"{crm.url}/api/v1/auth", json=body, timeout=5)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "name": ["must be a string"],
        "company": ["is too long (201 characters, maximum is 200)"],
    }


def test_sync_connector_still_authenticates(crm: RunningServer) -> None:
    # The sync engine's own client, with and without an operator email configured.
    for email in ("", "staff@example.com"):
        connector = AcmeConnector(crm.url, operator_email=email)
        try:
            grant = connector.authenticate()
        finally:
            connector.close()
        assert grant.token
        assert grant.expires_in == 900


# Content type and malformed bodies


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/_admin/faults"])
def test_text_plain_body_415(crm: RunningServer, client: Client, path: str) -> None:
    response = requests.post(
        f"{crm.url}{path}",
        data='{"acme_email": "a@example.com"}',
        headers={**client.headers(), "Content-Type": "text/plain"},
        timeout=5,
    )
    assert response.status_code == 415
    assert response.json() == {
        "error": "unsupported_media_type",
        "message": "the body has Content-Type 'text/plain'; "
        "send JSON with Content-Type: application/json",
    }
    assert crm.stats()["contacts"] == 0


def test_auth_without_content_type_415(crm: RunningServer) -> None:
    response = requests.post(
        f"{crm.url}/api/v1/auth", data=b'{"email": "op@example.com"}', timeout=5
    )
    assert response.status_code == 415
    assert "no Content-Type" in response.json()["message"]


def test_json_suffix_type_accepted(client: Client) -> None:
    response = _post_raw(
        f"{client.base}/api/v1/contacts",
        '{"acme_email": "a@example.com"}',
        **{**client.headers(), "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 201


def test_deeply_nested_body_400(client: Client) -> None:
    depth = 100_000
    body = (
        '{"acme_email": "deep@example.com", "acme_qualifiers": {"a": '
        + "[" * depth
        + "]" * depth
        + "}}"
    )
    response = _post_raw(f"{client.base}/api/v1/contacts", body, **client.headers())
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_json",
        "message": "the body is not valid JSON: it is nested too deeply",
    }


def test_nested_qualifiers_422(client: Client) -> None:
    qualifiers = {"a": [[[[["too deep"]]]]]}
    response = client.post(
        {"acme_email": "q@example.com", "acme_qualifiers": qualifiers}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "acme_qualifiers": ["is nested more than 5 levels deep"]
    }


def test_large_qualifiers_422(client: Client) -> None:
    qualifiers = {str(i): "x" * 1000 for i in range(900)}
    response = client.post(
        {"acme_email": "q@example.com", "acme_qualifiers": qualifiers}
    )
    assert response.status_code == 422
    assert "maximum is 10000" in response.json()["errors"]["acme_qualifiers"][0]


def test_nan_in_qualifiers_422(crm: RunningServer, client: Client) -> None:
    body = '{"acme_email": "nan@example.com", "acme_qualifiers": {"score": NaN}}'
    response = _post_raw(f"{client.base}/api/v1/contacts", body, **client.headers())
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "acme_qualifiers": ["must not contain NaN or Infinity"]
    }
    assert crm.stats()["contacts"] == 0


def test_huge_integer_400(client: Client) -> None:
    body = '{"acme_email": "n@example.com", "acme_qualifiers": {"n": ' + "9" * 5000
    response = _post_raw(
        f"{client.base}/api/v1/contacts", body + "}}", **client.headers()
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the body is not valid JSON: a number has too many digits"
    )


# Paging


@pytest.mark.parametrize("offset", ["99999999999999999999999", "1000000001"])
def test_huge_offset_422(client: Client, offset: str) -> None:
    response = client.get("/contacts", offset=offset)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "offset": ["must be an integer from 0 to 1000000000"]
    }


def test_largest_offset_empty_page(client: Client) -> None:
    client.post({"acme_email": "a@example.com"})
    response = client.get("/contacts", offset="1000000000")
    assert response.status_code == 200
    assert response.json() == {"contacts": [], "total": 1}


# Body size


def _full_contact(index: int) -> dict[str, Any]:
    """Return a valid bulk item with every field at its maximum length."""
    prefix = f"{index:03d}"
    domain = "d" * 60 + "." + "e" * 60 + "." + "f" * 60 + ".com"
    return {
        "idempotency_key": prefix + WIDE * (MAX_KEY_LENGTH - 3),
        "acme_email": prefix + WIDE * 61 + "@" + domain,
        "acme_first_name": WIDE * 100,
        "acme_last_name": WIDE * 100,
        "acme_phone": WIDE * 20,
        "acme_company": WIDE * 200,
        "acme_job_title": WIDE * 150,
        "acme_linkedin": WIDE * 500,
        "acme_notes": WIDE * 10_000,
        "acme_lead_rating": "hot",
        "acme_consent_at": "2026-05-01T10:00:00+00:00",
        "acme_consent_version": WIDE * 100,
        "acme_badge_id": WIDE * 200,
        "acme_event": WIDE * 200,
        "acme_source": WIDE * 100,
        # '{"q":""}' is 8 characters of JSON around the value.
        "acme_qualifiers": {"q": WIDE * (MAX_QUALIFIERS_CHARS - 8)},
    }


def test_full_bulk_at_field_limits_accepted(crm: RunningServer, client: Client) -> None:
    contacts = [_full_contact(index) for index in range(MAX_BULK)]
    size = len(json.dumps({"contacts": contacts}).encode("utf-8"))
    response = client.session.post(
        f"{client.base}/api/v1/contacts/bulk",
        json={"contacts": contacts},
        headers=client.headers(),
        timeout=120,
    )
    assert size > 25_000_000
    assert response.status_code == 200
    statuses = [result["status"] for result in response.json()["results"]]
    assert statuses == [201] * MAX_BULK
    assert crm.stats()["contacts"] == MAX_BULK


def test_oversized_body_413_json(client: Client) -> None:
    body = b'{"contacts": [' + b" " * MAX_BODY_BYTES + b"]}"
    response = _post_raw(
        f"{client.base}/api/v1/contacts/bulk", body, **client.headers()
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "request_entity_too_large",
        "message": f"the request body is larger than the maximum of {MAX_BODY_BYTES} "
        "bytes; send fewer contacts in each bulk request",
    }
