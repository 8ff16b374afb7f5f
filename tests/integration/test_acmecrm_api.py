"""The AcmeCRM API over HTTP on loopback, against the in-process server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from acmecrm.embedded import RunningServer, start_server
from acmecrm.tokens import EXP_LEEWAY_S

SECRET = "integration-test-secret-of-32-bytes!"
TIMEOUT_S = 10.0


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


class Client:
    """A small AcmeCRM client for tests: one session and one token."""

    def __init__(self, base_url: str, **auth_body: Any) -> None:
        self.base = base_url
        self.session = requests.Session()
        self.token = ""
        self.authenticate(**auth_body)

    def authenticate(self, **body: Any) -> requests.Response:
        body.setdefault("email", "operator@example.com")
        response = self.session.post(f"{self.base}/api/v1/auth", json=body, timeout=5)
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def headers(self, key: str = "") -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def post(self, contact: dict[str, Any], key: str = "") -> requests.Response:
        return self.session.post(
            f"{self.base}/api/v1/contacts",
            json=contact,
            headers=self.headers(key),
            timeout=TIMEOUT_S,
        )

    def bulk(self, contacts: list[dict[str, Any]]) -> requests.Response:
        return self.session.post(
            f"{self.base}/api/v1/contacts/bulk",
            json={"contacts": contacts},
            headers=self.headers(),
            timeout=TIMEOUT_S,
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.base}/api/v1{path}",
            params=params,
            headers=self.headers(),
            timeout=TIMEOUT_S,
        )


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "crm.db", secret=SECRET)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(crm: RunningServer) -> Client:
    return Client(crm.url)


def contact(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "acme_email": f"visitor{n}@example.com",
        "acme_first_name": f"V{n}",
        **extra,
    }


# Authentication


def test_auth_returns_bearer_token(crm: RunningServer) -> None:
    response = requests.post(
        f"{crm.url}/api/v1/auth",
        json={"email": "op@example.com", "name": "Op", "company": "Booth"},
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert 900 <= claims["exp"] - claims["iat"] <= 901
    assert abs(claims["iat"] - time.time()) < 5


def test_request_without_token_rejected(crm: RunningServer) -> None:
    response = requests.get(f"{crm.url}/api/v1/contacts", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_token_rejected(crm: RunningServer) -> None:
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "x", "iat": now, "exp": now + 60, "jti": "j"},
        "not-the-server-secret-but-long-enough",
        algorithm="HS256",
    )
    response = requests.get(
        f"{crm.url}/api/v1/contacts",
        headers={"Authorization": f"Bearer {forged}"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_api_key_required_when_set(tmp_path: Path) -> None:
    with start_server(tmp_path / "crm.db", secret=SECRET, api_key="k-123") as server:
        wrong = Client(server.url).authenticate(api_key="nope")
        missing = Client(server.url).authenticate()
        right = Client(server.url).authenticate(api_key="k-123")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_api_key"
    assert missing.status_code == 401
    assert right.status_code == 200


def test_expired_token_rejected(crm: RunningServer, client: Client) -> None:
    crm.set_faults(token_ttl=1)
    client.authenticate()
    assert client.get("/contacts").status_code == 200
    exp = jwt.decode(client.token, options={"verify_signature": False})["exp"]
    wait_until(lambda: time.time() >= exp + EXP_LEEWAY_S, timeout_s=4)
    response = client.get("/contacts")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


# Contacts


def test_upsert_creates_then_updates(client: Client) -> None:
    created = client.post(contact(1, acme_company="Acme"))
    updated = client.post(
        {"acme_email": "VISITOR1@example.com", "acme_job_title": "CTO"}
    )
    assert created.status_code == 201
    assert updated.status_code == 200
    acme_id = created.json()["acme_id"]
    assert updated.json()["acme_id"] == acme_id
    stored = client.get(f"/contacts/{acme_id}").json()
    assert stored["acme_first_name"] == "V1"
    assert stored["acme_company"] == "Acme"
    assert stored["acme_job_title"] == "CTO"
    assert client.get("/contacts").json()["total"] == 1


def test_validation_errors_per_field(client: Client) -> None:
    response = client.post(
        {"acme_email": "not-an-email", "acme_phone": "1" * 21, "acme_nickname": "x"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert body["errors"]["acme_email"] == ["is not a valid email"]
    assert body["errors"]["acme_phone"] == [
        "is too long (21 characters, maximum is 20)"
    ]
    assert body["errors"]["acme_nickname"] == ["is not a known AcmeCRM field"]


def test_body_must_be_json_object(client: Client) -> None:
    not_json = client.session.post(
        f"{client.base}/api/v1/contacts",
        data=b"{oops",
        headers={**client.headers(), "Content-Type": "application/json"},
        timeout=5,
    )
    a_list = client.session.post(
        f"{client.base}/api/v1/contacts", json=[1], headers=client.headers(), timeout=5
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"] == "invalid_json"
    assert a_list.status_code == 422
    assert a_list.json()["errors"] == {"body": ["must be a JSON object"]}


def test_list_filters_and_pages(client: Client) -> None:
    for n in range(5):
        client.post(contact(n, acme_company="Acme" if n % 2 else "Globex"))
    page = client.get("/contacts", limit=2, offset=1).json()
    acme = client.get("/contacts", company="ACME").json()
    by_email = client.get("/contacts", email="Visitor3@Example.com").json()
    assert page["total"] == 5
    assert [c["acme_email"] for c in page["contacts"]] == [
        "visitor1@example.com",
        "visitor2@example.com",
    ]
    assert acme["total"] == 2
    assert by_email["total"] == 1
    assert by_email["contacts"][0]["acme_first_name"] == "V3"


def test_list_limit_at_most_100(client: Client) -> None:
    assert client.get("/contacts", limit=100).status_code == 200
    too_many = client.get("/contacts", limit=101)
    negative = client.get("/contacts", offset=-1)
    assert too_many.status_code == 422
    assert "limit" in too_many.json()["errors"]
    assert negative.status_code == 422
    assert "offset" in negative.json()["errors"]


def test_get_unknown_contact_404(client: Client) -> None:
    response = client.get("/contacts/acm_missing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_unknown_route_json_404(client: Client) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# Bulk


def test_bulk_mixed_results_in_order(client: Client) -> None:
    client.post(contact(2))
    response = client.bulk(
        [
            {"idempotency_key": "a:1", **contact(1)},
            {"idempotency_key": "b:1", "acme_email": "broken"},
            {"idempotency_key": "c:1", **contact(2, acme_job_title="CFO")},
            "not an object",
            {"idempotency_key": "d:1", **contact(1, acme_job_title="CEO")},
        ]
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [201, 422, 200, 422, 200]
    assert results[1]["errors"] == {"acme_email": ["is not a valid email"]}
    assert results[3]["errors"] == {"contact": ["must be a JSON object"]}
    assert results[0]["acme_id"] == results[4]["acme_id"]
    assert "acme_id" not in results[1]


def test_bulk_over_100_rejected(client: Client) -> None:
    response = client.bulk([contact(n) for n in range(101)])
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert "maximum is 100" in body["errors"]["contacts"][0]
    assert client.get("/contacts").json()["total"] == 0


def test_bulk_of_100_accepted(client: Client) -> None:
    response = client.bulk(
        [{"idempotency_key": f"k{n}:1", **contact(n)} for n in range(100)]
    )
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {201}
    assert client.get("/contacts").json()["total"] == 100


# Idempotency


def test_same_key_same_body_replays(crm: RunningServer, client: Client) -> None:
    first = client.post(contact(1), key="lead-1:1")
    again = client.post(contact(1), key="lead-1:1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    stats = crm.stats()
    assert stats["created"] == 1
    assert stats["updated"] == 0
    assert stats["replayed"] == 1


def test_same_key_other_body_rejected(crm: RunningServer, client: Client) -> None:
    client.post(contact(1), key="lead-1:1")
    reused = client.post(contact(1, acme_job_title="CEO"), key="lead-1:1")
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert crm.stats()["updated"] == 0


def test_bulk_item_replay_and_reuse(crm: RunningServer, client: Client) -> None:
    first = client.bulk([{"idempotency_key": "l:1", **contact(1)}]).json()
    again = client.bulk(
        [
            {"idempotency_key": "l:1", **contact(1)},
            {"idempotency_key": "l:1", **contact(1, acme_notes="changed")},
        ]
    ).json()
    assert again["results"][0]["status"] == 201
    assert again["results"][0]["acme_id"] == first["results"][0]["acme_id"]
    assert again["results"][0]["replayed"] is True
    assert again["results"][1]["status"] == 422
    assert again["results"][1]["error"] == "idempotency_key_reused"
    assert crm.stats()["created"] == 1
    assert crm.stats()["replayed"] == 1


def test_single_key_replays_in_bulk(client: Client) -> None:
    single = client.post(contact(1), key="lead-9:2")
    bulk = client.bulk([{"idempotency_key": "lead-9:2", **contact(1)}]).json()
    assert bulk["results"][0]["replayed"] is True
    assert bulk["results"][0]["acme_id"] == single.json()["acme_id"]


def test_replay_after_restart(tmp_path: Path) -> None:
    with start_server(tmp_path / "crm.db", secret=SECRET) as server:
        first = Client(server.url).post(contact(1), key="lead-1:1").json()
    with start_server(tmp_path / "crm.db", secret=SECRET) as server:
        again = Client(server.url).post(contact(1), key="lead-1:1")
        stats = server.stats()
    assert again.status_code == 201
    assert again.json() == first
    assert stats["created"] == 1
    assert stats["replayed"] == 1


def test_concurrent_same_key_creates_once(crm: RunningServer) -> None:
    import concurrent.futures

    def send(_: int) -> int:
        return Client(crm.url).post(contact(1), key="race:1").status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(16)))
    assert statuses == [201] * 16
    stats = crm.stats()
    assert stats["contacts"] == 1
    assert stats["created"] == 1
    assert stats["replayed"] == 15


# Rate limit


def test_rate_limit_429_with_retry_after(crm: RunningServer, client: Client) -> None:
    crm.set_faults(rate_limit=3)
    statuses = [client.get("/contacts").status_code for _ in range(4)]
    limited = client.get("/contacts")
    other = Client(crm.url)
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other.get("/contacts").status_code == 200


def test_rate_limit_zero_is_unlimited(crm: RunningServer, client: Client) -> None:
    crm.set_faults(rate_limit=0)
    statuses = {client.get("/contacts").status_code for _ in range(150)}
    assert statuses == {200}


# Faults


def test_down_answers_503(crm: RunningServer, client: Client) -> None:
    crm.set_faults(down=True)
    health = requests.get(f"{crm.url}/api/v1/health", timeout=5)
    write = client.post(contact(1))
    admin = requests.get(f"{crm.url}/_admin/stats", timeout=5)
    assert health.status_code == 503
    assert write.status_code == 503
    assert admin.status_code == 200
    assert admin.json()["contacts"] == 0
    crm.set_faults(down=False)
    assert requests.get(f"{crm.url}/api/v1/health", timeout=5).status_code == 200


def test_error_rate_one_fails_every_request(crm: RunningServer, client: Client) -> None:
    crm.set_faults(error_rate=1.0, seed=3)
    statuses = {client.post(contact(n)).status_code for n in range(20)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) >= 2
    assert crm.stats()["contacts"] == 0
    assert requests.get(f"{crm.url}/_admin/faults", timeout=5).status_code == 200


def test_latency_delays_requests(crm: RunningServer) -> None:
    crm.set_faults(latency_ms=1500)
    started = time.monotonic()
    requests.get(f"{crm.url}/api/v1/health", timeout=5)
    api_elapsed = time.monotonic() - started
    started = time.monotonic()
    requests.get(f"{crm.url}/_admin/stats", timeout=5)
    admin_elapsed = time.monotonic() - started
    assert api_elapsed >= 1.5
    assert admin_elapsed < 1.0


def test_apply_then_timeout_stores_first(crm: RunningServer, client: Client) -> None:
    crm.set_faults(apply_then_timeout_rate=1.0, hold_ms=5000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.session.post(
            f"{client.base}/api/v1/contacts",
            json=contact(1),
            headers=client.headers("lead-1:1"),
            timeout=0.5,
        )
    assert crm.stats()["created"] == 1
    crm.set_faults(apply_then_timeout_rate=0.0)
    retry = client.post(contact(1), key="lead-1:1")
    assert retry.status_code == 201
    assert crm.stats()["created"] == 1
    assert crm.stats()["replayed"] == 1


def test_clock_skew_moves_iat(crm: RunningServer, client: Client) -> None:
    crm.set_faults(clock_skew_s=300)
    client.authenticate()
    claims = jwt.decode(client.token, SECRET, algorithms=["HS256"], leeway=400)
    assert claims["iat"] >= time.time() + 290
    assert client.get("/contacts").status_code == 200
    crm.set_faults(clock_skew_s=-300)
    stale = client.get("/contacts")
    assert stale.status_code == 401
    assert "future" in stale.json()["message"]


def test_admin_faults_round_trip(crm: RunningServer) -> None:
    changed = requests.post(
        f"{crm.url}/_admin/faults", json={"latency_ms": 5, "token_ttl": 20}, timeout=5
    )
    bad = requests.post(f"{crm.url}/_admin/faults", json={"nope": 1}, timeout=5)
    assert changed.status_code == 200
    assert changed.json()["latency_ms"] == 5
    assert crm.faults()["token_ttl"] == 20
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_faults"
    assert "nope" in bad.json()["message"]


def test_initial_faults_applied(tmp_path: Path) -> None:
    with start_server(tmp_path / "crm.db", secret=SECRET, faults={"down": True}) as s:
        status = requests.get(f"{s.url}/api/v1/health", timeout=5).status_code
    assert status == 503


def test_stats_count_responses(crm: RunningServer, client: Client) -> None:
    client.post(contact(1))
    client.post(contact(1))
    client.get("/contacts/acm_missing")
    stats = crm.stats()
    assert stats["contacts"] == 1
    assert stats["created"] == 1
    assert stats["updated"] == 1
    assert stats["requests_by_status"]["200"] == 2
    assert stats["requests_by_status"]["201"] == 1
    assert stats["requests_by_status"]["404"] == 1


def test_stop_ends_held_response(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "crm.db",
        secret=SECRET,
        faults={"apply_then_timeout_rate": 1.0, "hold_ms": 60_000},
    )
    client = Client(server.url)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.session.post(
            f"{server.url}/api/v1/contacts",
            json=contact(1),
            headers=client.headers(),
            timeout=0.5,
        )
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5


def test_wrong_method_json_405(client: Client) -> None:
    response = client.session.delete(
        f"{client.base}/api/v1/contacts", headers=client.headers(), timeout=5
    )
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_concurrent_bulk_writers(crm: RunningServer) -> None:
    import concurrent.futures

    crm.set_faults(rate_limit=0)

    def send(writer: int) -> list[int]:
        client = Client(crm.url)
        statuses: list[int] = []
        for batch in range(5):
            items = [
                {"idempotency_key": f"w{writer}-b{batch}-{n}:1", **contact(n)}
                for n in range(
                    writer * 1000 + batch * 20, writer * 1000 + batch * 20 + 20
                )
            ]
            response = client.bulk(items)
            statuses.extend(r["status"] for r in response.json()["results"])
        return statuses

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [s for batch in pool.map(send, range(6)) for s in batch]
    stats = crm.stats()
    assert statuses == [201] * 600
    assert stats["contacts"] == 600
    assert stats["created"] == 600
    assert stats["requests_by_status"].get("500", 0) == 0


def test_admin_contacts_ignore_faults(crm: RunningServer, client: Client) -> None:
    for n in range(3):
        client.post(contact(n))
    crm.set_faults(error_rate=1.0, down=True)
    response = requests.get(f"{crm.url}/_admin/contacts", timeout=5)
    assert response.status_code == 200
    assert response.json()["total"] == 3
    assert [c["acme_email"] for c in crm.contacts()] == [
        "visitor0@example.com",
        "visitor1@example.com",
        "visitor2@example.com",
    ]


def test_embedded_port_in_use_raises(crm: RunningServer, tmp_path: Path) -> None:
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{crm.port}"):
        start_server(tmp_path / "other.db", secret=SECRET, port=crm.port)


def test_concurrent_upserts_same_emails(crm: RunningServer) -> None:
    import concurrent.futures

    crm.set_faults(rate_limit=0)

    def send(writer: int) -> list[int]:
        client = Client(crm.url)
        order = list(range(20))
        order = order[writer:] + order[:writer]
        return [
            client.post(contact(n, acme_notes=f"w{writer}")).status_code for n in order
        ]

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [s for batch in pool.map(send, range(4)) for s in batch]
    stats = crm.stats()
    assert statuses.count(201) == 20
    assert statuses.count(200) == 60
    assert stats["contacts"] == 20
    assert stats["created"] == 20
    assert stats["updated"] == 60
