"""Unit tests of AcmeCRM validation, faults, rate limit, tokens and secrets."""

from __future__ import annotations

import json
import logging
import math
import stat
import time
from typing import Any

import jwt
import pytest

from acmecrm.cli import build_parser, fault_changes
from acmecrm.faults import FaultSettings, FaultState, RateLimiter, parse_fault_changes
from acmecrm.server import MAX_BODY_BYTES, create_app, is_loopback
from acmecrm.storage import Storage
from acmecrm.tokens import (
    EXP_LEEWAY_S,
    IAT_LEEWAY_S,
    InvalidToken,
    TokenIssuer,
    load_or_create_secret_file,
    resolve_secret,
)
from acmecrm.validation import (
    MAX_BULK,
    MAX_KEY_LENGTH,
    MAX_QUALIFIERS_CHARS,
    TEXT_FIELDS,
    is_valid_email,
    max_contact_json_bytes,
    validate_contact,
)

SECRET = "unit-test-secret-of-at-least-32-bytes"


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.com",
        "a.b+tag@sub.example.org",
        "X_Y@example.co.uk",
        "o'neil@ex-1.io",
    ],
)
def test_valid_emails_accepted(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "@example.com",
        "ann@",
        "ann@example",
        "ann@@example.com",
        "ann smith@example.com",
        "ann@-example.com",
        "ann@example.123",
        "a" * 65 + "@example.com",
    ],
)
def test_invalid_emails_rejected(email: str) -> None:
    assert not is_valid_email(email)


def test_validate_contact_cleans_fields() -> None:
    contact, errors = validate_contact(
        {
            "acme_email": "  Ann@Example.COM ",
            "acme_first_name": "Ann",
            "acme_lead_rating": "",
            "acme_consent_at": "2026-05-01T10:00:00Z",
            "acme_qualifiers": {"budget": "10k"},
            "acme_phone": None,
        }
    )
    assert errors == {}
    assert contact is not None
    assert contact.email_key == "ann@example.com"
    assert contact.fields["acme_email"] == "Ann@Example.COM"
    assert "acme_lead_rating" not in contact.fields
    assert "acme_phone" not in contact.fields
    assert contact.fields["acme_qualifiers"] == {"budget": "10k"}


def test_validate_contact_reports_each_field() -> None:
    contact, errors = validate_contact(
        {
            "acme_first_name": "x" * 101,
            "acme_last_name": "y" * 101,
            "acme_phone": "1" * 21,
            "acme_company": "c" * 201,
            "acme_job_title": "t" * 151,
            "acme_lead_rating": "lukewarm",
            "acme_consent_at": "yesterday",
            "acme_qualifiers": ["a"],
            "acme_notes": 5,
            "acme_website": "https://example.com",
        }
    )
    assert contact is None
    assert errors["acme_email"] == ["is required"]
    assert errors["acme_first_name"] == ["is too long (101 characters, maximum is 100)"]
    assert errors["acme_last_name"] == ["is too long (101 characters, maximum is 100)"]
    assert errors["acme_phone"] == ["is too long (21 characters, maximum is 20)"]
    assert errors["acme_company"] == ["is too long (201 characters, maximum is 200)"]
    assert errors["acme_job_title"] == ["is too long (151 characters, maximum is 150)"]
    assert errors["acme_lead_rating"] == ["must be one of hot, warm, cold"]
    assert errors["acme_consent_at"] == ["is not an ISO 8601 date and time"]
    assert errors["acme_qualifiers"] == ["must be a JSON object"]
    assert errors["acme_notes"] == ["must be a string"]
    assert errors["acme_website"] == ["is not a known AcmeCRM field"]


def test_validate_contact_limits_are_inclusive() -> None:
    contact, errors = validate_contact(
        {
            "acme_email": "ann@example.com",
            "acme_first_name": "x" * 100,
            "acme_phone": "1" * 20,
            "acme_company": "c" * 200,
            "acme_job_title": "t" * 150,
        }
    )
    assert errors == {}
    assert contact is not None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(address: str | None, expected: bool) -> None:
    assert is_loopback(address) is expected


def test_admin_rejects_remote_client(tmp_path) -> None:
    app = create_app(tmp_path / "crm.db", secret=SECRET)
    client = app.test_client()
    remote = client.get("/_admin/stats", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    local = client.get("/_admin/stats", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert remote.status_code == 403
    assert remote.get_json()["error"] == "forbidden"
    assert local.status_code == 200


def test_api_open_to_remote_client(tmp_path) -> None:
    app = create_app(tmp_path / "crm.db", secret=SECRET)
    response = app.test_client().get(
        "/api/v1/health", environ_base={"REMOTE_ADDR": "10.0.0.5"}
    )
    assert response.status_code == 200


def test_fault_changes_checked() -> None:
    clean = parse_fault_changes({"error_rate": 1, "latency_ms": 10.0, "down": True})
    assert clean == {"error_rate": 1.0, "latency_ms": 10, "down": True}
    with pytest.raises(ValueError, match="bogus: unknown fault setting"):
        parse_fault_changes({"bogus": 1})
    with pytest.raises(ValueError, match="error_rate: must be a number from 0 to 1"):
        parse_fault_changes({"error_rate": 1.5})
    with pytest.raises(ValueError, match="down: must be true or false"):
        parse_fault_changes({"down": "yes"})
    with pytest.raises(ValueError, match="token_ttl: must be an integer from 1 to"):
        parse_fault_changes({"token_ttl": 0})
    with pytest.raises(ValueError, match="latency_ms: must be an integer from 0 to"):
        parse_fault_changes({"latency_ms": -1})


def test_fault_state_seed_repeats_draws() -> None:
    first = FaultState(FaultSettings(seed=7))
    second = FaultState(FaultSettings(seed=7))
    draws_first = [first.chance(0.5) for _ in range(50)]
    draws_second = [second.chance(0.5) for _ in range(50)]
    assert draws_first == draws_second
    assert True in draws_first
    assert False in draws_first


def test_rate_limiter_window() -> None:
    limiter = RateLimiter()
    assert [limiter.acquire("t", 3) for _ in range(3)] == [0, 0, 0]
    retry_after = limiter.acquire("t", 3)
    assert 59 <= retry_after <= 60
    assert limiter.acquire("other", 3) == 0
    assert limiter.acquire("t", 0) == 0


def test_rate_limiter_frees_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("acmecrm.faults.time.monotonic", lambda: now[0])
    limiter = RateLimiter()
    limiter.acquire("t", 2)
    now[0] += 30
    limiter.acquire("t", 2)
    assert limiter.acquire("t", 2) == 30
    now[0] += 30.5
    assert limiter.acquire("t", 2) == 0
    assert limiter.acquire("t", 2) == 30


def test_token_round_trip() -> None:
    issuer = TokenIssuer(SECRET, time.time)
    issued = issuer.issue("op@example.com", 900)
    claims = issuer.verify(issued.token)
    assert issued.expires_in == 900
    assert claims["sub"] == "op@example.com"
    assert claims["exp"] - claims["iat"] == 900


def test_token_expired_and_bad_signature() -> None:
    clock = [1_000_000.0]
    issuer = TokenIssuer(SECRET, lambda: clock[0])
    token = issuer.issue("op", 10).token
    clock[0] += 10 + EXP_LEEWAY_S - 0.001
    assert issuer.verify(token)["sub"] == "op"
    clock[0] += 0.001
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token)
    with pytest.raises(InvalidToken, match="Signature"):
        TokenIssuer("other-" + SECRET, lambda: clock[0] - 5).verify(token)


def test_token_from_future_within_leeway() -> None:
    clock = [1_000_000.0]
    issuer = TokenIssuer(SECRET, lambda: clock[0])
    token = issuer.issue("op", 900).token
    clock[0] -= IAT_LEEWAY_S
    assert issuer.verify(token)["sub"] == "op"
    clock[0] -= 1
    with pytest.raises(InvalidToken, match="future"):
        issuer.verify(token)


def test_token_claims_use_skewed_clock() -> None:
    issuer = TokenIssuer(SECRET, lambda: time.time() + 300)
    token = issuer.issue("op", 900).token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iat"] >= int(time.time()) + 299


def test_secret_file_created_private_and_reused(tmp_path) -> None:
    path = tmp_path / "acmecrm.secret"
    first = load_or_create_secret_file(path)
    second = load_or_create_secret_file(path)
    assert len(first) == 64
    assert first == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_differs_per_folder(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACMECRM_SECRET", raising=False)
    secret_a = resolve_secret(None, tmp_path / "a" / "crm.db")
    secret_b = resolve_secret(None, tmp_path / "b" / "crm.db")
    assert secret_a != secret_b


def test_secret_order(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMECRM_SECRET", "from-env")
    assert resolve_secret("explicit", tmp_path / "crm.db") == "explicit"
    assert resolve_secret(None, tmp_path / "crm.db") == "from-env"
    assert not (tmp_path / "acmecrm.secret").exists()


def test_storage_file_private(tmp_path) -> None:
    Storage(tmp_path / "crm.db")
    assert stat.S_IMODE((tmp_path / "crm.db").stat().st_mode) == 0o600


def test_rate_limiter_prunes_idle_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("acmecrm.faults.time.monotonic", lambda: now[0])
    limiter = RateLimiter()
    for n in range(RateLimiter.PRUNE_ABOVE + 1):
        limiter.acquire(f"old-{n}", 10)
    now[0] += 61
    limiter.acquire("new", 10)
    assert limiter.tracked_tokens() == 1


def test_storage_rejects_memory_database() -> None:
    with pytest.raises(ValueError, match="database file path"):
        Storage(":memory:")


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("latency_ms", math.inf, "an integer from 0 to 60000 ms"),
        ("latency_ms", 1e12, "an integer from 0 to 60000 ms"),
        ("latency_ms", 60_001, "an integer from 0 to 60000 ms"),
        ("latency_ms", 10**400, "an integer from 0 to 60000 ms"),
        ("hold_ms", 1e20, "an integer from 0 to 600000 ms"),
        ("hold_ms", -1, "an integer from 0 to 600000 ms"),
        ("token_ttl", 1e20, "an integer from 1 to 86400 seconds"),
        ("token_ttl", 86_401, "an integer from 1 to 86400 seconds"),
        ("clock_skew_s", math.nan, "a number from -86400 to 86400 seconds"),
        ("clock_skew_s", -1e12, "a number from -86400 to 86400 seconds"),
        ("clock_skew_s", -math.inf, "a number from -86400 to 86400 seconds"),
        ("error_rate", math.nan, "a number from 0 to 1"),
        ("apply_then_timeout_rate", math.inf, "a number from 0 to 1"),
        ("rate_limit", 100_001, "an integer from 0 to 100000 requests a minute"),
        ("rate_limit", math.nan, "an integer from 0 to 100000 requests a minute"),
    ],
)
def test_fault_changes_reject_absurd(name: str, value: float, accepted: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: must be {accepted}, got "):
        parse_fault_changes({name: value})


def test_fault_changes_accept_range_edges() -> None:
    edges = {
        "latency_ms": 60_000,
        "hold_ms": 600_000,
        "token_ttl": 86_400,
        "clock_skew_s": -86_400,
        "rate_limit": 100_000,
        "error_rate": 0,
        "apply_then_timeout_rate": 1,
    }
    assert parse_fault_changes(edges) == edges
    assert parse_fault_changes({"token_ttl": 1, "clock_skew_s": 86_400.0}) == {
        "token_ttl": 1,
        "clock_skew_s": 86_400.0,
    }


def test_fault_changes_name_json_type() -> None:
    with pytest.raises(ValueError, match=r"^latency_ms: must be an .* got a string$"):
        parse_fault_changes({"latency_ms": "5"})
    with pytest.raises(ValueError, match=r"^error_rate: must be a .* got null$"):
        parse_fault_changes({"error_rate": None})


def _exit_status(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    return exit_info.value.code


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "99999"], "argument --port: must be an integer from 0 to 65535"),
        (["--port", "-1"], "argument --port: must be an integer from 0 to 65535"),
        (["--port", "http"], "argument --port: must be an integer from 0 to 65535"),
        (
            ["--clock-skew-s", "nan"],
            "argument --clock-skew-s: must be a number from -86400 to 86400 seconds",
        ),
        (["--latency-ms", "1e12"], "argument --latency-ms: must be an integer from 0"),
        (["--token-ttl", "0"], "argument --token-ttl: must be an integer from 1"),
        (["--hold-ms", "600001"], "argument --hold-ms: must be an integer from 0"),
        (
            ["--error-rate", "inf"],
            "argument --error-rate: must be a number from 0 to 1",
        ),
        (["--rate-limit", "-5"], "argument --rate-limit: must be an integer from 0"),
    ],
)
def test_cli_rejects_bad_values(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_status(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_accepts_range_edges() -> None:
    args = build_parser().parse_args(
        ["--port", "65535", "--clock-skew-s", "-86400", "--token-ttl", "86400"]
    )
    assert args.port == 65535
    assert fault_changes(args) == {"clock_skew_s": -86400.0, "token_ttl": 86400}
    assert build_parser().parse_args(["--port", "0"]).port == 0


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_qualifiers_depth_bounded() -> None:
    # The qualifiers object is level 1, so four lists inside it make five levels.
    deepest = {"acme_email": "a@example.com", "acme_qualifiers": {"q": _nested(4)}}
    too_deep = {"acme_email": "a@example.com", "acme_qualifiers": {"q": _nested(5)}}
    assert validate_contact(deepest)[1] == {}
    contact, errors = validate_contact(too_deep)
    assert contact is None
    assert errors == {"acme_qualifiers": ["is nested more than 5 levels deep"]}


def test_qualifiers_very_deep_no_recursion() -> None:
    body = {"acme_email": "a@example.com", "acme_qualifiers": {"q": _nested(100_000)}}
    contact, errors = validate_contact(body)
    assert contact is None
    assert errors == {"acme_qualifiers": ["is nested more than 5 levels deep"]}


def test_qualifiers_size_bounded() -> None:
    # '{"q":""}' is 8 characters of JSON around the value.
    at_limit = {"q": "é" * (MAX_QUALIFIERS_CHARS - 8)}
    over = {"q": "é" * (MAX_QUALIFIERS_CHARS - 7)}
    assert (
        validate_contact({"acme_email": "a@example.com", "acme_qualifiers": at_limit})[
            1
        ]
        == {}
    )
    contact, errors = validate_contact(
        {"acme_email": "a@example.com", "acme_qualifiers": over}
    )
    assert contact is None
    assert errors == {
        "acme_qualifiers": ["is too long (10001 characters as JSON, maximum is 10000)"]
    }


def test_qualifiers_reject_nan() -> None:
    contact, errors = validate_contact(
        {"acme_email": "a@example.com", "acme_qualifiers": {"score": math.nan}}
    )
    assert contact is None
    assert errors == {"acme_qualifiers": ["must not contain NaN or Infinity"]}


def test_body_limit_fits_full_bulk() -> None:
    assert MAX_BODY_BYTES >= MAX_BULK * max_contact_json_bytes()
    # Every text field full of characters that take 4 bytes in UTF-8 and 12 bytes
    # once escaped as JSON.
    item = {name: "😀" * limit for name, limit in TEXT_FIELDS.items()}
    item["idempotency_key"] = "😀" * MAX_KEY_LENGTH
    item["acme_qualifiers"] = {"q": "😀" * (MAX_QUALIFIERS_CHARS - 8)}
    one_item = len(json.dumps(item).encode("utf-8"))
    assert one_item <= max_contact_json_bytes()
    assert MAX_BULK * one_item < MAX_BODY_BYTES


def test_token_lifetime_exactly_ttl() -> None:
    clock = [1_000_000.7]
    issuer = TokenIssuer(SECRET, lambda: clock[0])
    for ttl in (1, 2, 900):
        claims = jwt.decode(
            issuer.issue("op", ttl).token, options={"verify_signature": False}
        )
        assert claims["iat"] == 1_000_000
        assert claims["exp"] - claims["iat"] == ttl


def test_token_usable_for_full_ttl() -> None:
    # Issued just before a whole second, the token still works ttl seconds later.
    clock = [1_000_000.999]
    issuer = TokenIssuer(SECRET, lambda: clock[0])
    token = issuer.issue("op", 2).token
    clock[0] += 2
    assert issuer.verify(token)["sub"] == "op"


@pytest.mark.expected_log("acmecrm.tokens")
def test_secret_file_mode_tightened(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "acmecrm.secret"
    path.write_text("s3cret-value-of-the-test\n", encoding="ascii")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="acmecrm.tokens"):
        secret = load_or_create_secret_file(path)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert secret == "s3cret-value-of-the-test"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(warnings) == 1
    assert "had mode 0644" in warnings[0].getMessage()
    assert "was changed to 0600" in warnings[0].getMessage()
    assert "s3cret" not in caplog.text


def test_secret_file_private_mode_kept(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "acmecrm.secret"
    path.write_text("s3cret\n", encoding="ascii")
    path.chmod(0o400)
    with caplog.at_level(logging.DEBUG, logger="acmecrm.tokens"):
        assert load_or_create_secret_file(path) == "s3cret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert caplog.records == []


def test_payload_too_large_is_json(tmp_path) -> None:
    app = create_app(tmp_path / "crm.db", secret=SECRET)
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post(
        "/api/v1/auth",
        data=b'{"email": "' + b"a" * 200 + b'@example.com"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.is_json
    assert response.get_json() == {
        "error": "request_entity_too_large",
        "message": "the request body is larger than the maximum of 100 bytes; "
        "send fewer contacts in each bulk request",
    }
