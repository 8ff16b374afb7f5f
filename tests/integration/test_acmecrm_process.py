"""``python -m acmecrm`` as a subprocess: listening line, flags, stop and restart."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.helpers.crm_process import REPO_ROOT, CrmProcess, start_crm_process

ACMECRM = (sys.executable, "-m", "acmecrm")


def _auth(url: str, **body: str) -> requests.Response:
    body.setdefault("email", "operator@example.com")
    return requests.post(f"{url}/api/v1/auth", json=body, timeout=5)


def _post(url: str, token: str, email: str, key: str) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/contacts",
        json={"acme_email": email},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        timeout=5,
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACMECRM_SECRET", raising=False)


def test_listening_line_and_sigterm(tmp_path: Path, clean_env: None) -> None:
    with start_crm_process(tmp_path / "crm.db") as crm:
        assert crm.url.startswith("http://127.0.0.1:")
        assert crm.port > 0
        health = requests.get(f"{crm.url}/api/v1/health", timeout=5)
        assert health.json() == {"status": "ok"}
        assert crm.stop() == 0


def test_listening_line_exact(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "acmecrm",
            "--port",
            "0",
            "--db",
            str(tmp_path / "c.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "ACMECRM_SECRET": "process-test-secret-32-bytes-long"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("AcmeCRM listening on http://127.0.0.1:")
        assert int(line.rsplit(":", 1)[1]) > 0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0


def test_secret_file_private_and_reused(tmp_path: Path, clean_env: None) -> None:
    crm = start_crm_process(tmp_path / "crm.db")
    token = _auth(crm.url).json()["token"]
    secret_file = tmp_path / "acmecrm.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    first_secret = secret_file.read_text()
    crm.restart()
    try:
        assert secret_file.read_text() == first_secret
        # A token signed before the restart still verifies.
        response = requests.get(
            f"{crm.url}/api/v1/contacts",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert response.status_code == 200
    finally:
        crm.stop()


def test_restart_same_port_replays(tmp_path: Path, clean_env: None) -> None:
    crm = start_crm_process(tmp_path / "crm.db")
    try:
        port = crm.port
        first = _post(crm.url, _auth(crm.url).json()["token"], "a@example.com", "l:1")
        crm.restart()
        assert crm.port == port
        again = _post(crm.url, _auth(crm.url).json()["token"], "a@example.com", "l:1")
        assert again.status_code == first.status_code == 201
        assert again.json() == first.json()
        stats = crm.stats()
        assert stats["created"] == 1
        assert stats["replayed"] == 1
    finally:
        crm.stop()


def test_stopped_then_started_on_fixed_port(tmp_path: Path, clean_env: None) -> None:
    crm = start_crm_process(tmp_path / "crm.db")
    port = crm.port
    crm.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
    again = start_crm_process(tmp_path / "crm.db", port=port)
    try:
        assert again.url == f"http://127.0.0.1:{port}"
    finally:
        again.stop()


def test_kill_and_restart(tmp_path: Path, clean_env: None) -> None:
    crm = start_crm_process(tmp_path / "crm.db")
    try:
        _post(crm.url, _auth(crm.url).json()["token"], "k@example.com", "k:1")
        crm.kill()
        assert crm.returncode == -signal.SIGKILL
        crm.restart()
        assert crm.stats()["contacts"] == 1
        assert [c["acme_email"] for c in crm.contacts()] == ["k@example.com"]
    finally:
        crm.stop()


def test_fault_flags(tmp_path: Path, clean_env: None) -> None:
    args = (
        "--down",
        "--error-rate",
        "0.25",
        "--latency-ms",
        "7",
        "--rate-limit",
        "0",
        "--token-ttl",
        "20",
        "--apply-then-timeout-rate",
        "0.02",
        "--hold-ms",
        "12000",
        "--clock-skew-s",
        "-300",
    )

    with start_crm_process(tmp_path / "crm.db", *args) as crm:
        faults = crm.faults()
        health = requests.get(f"{crm.url}/api/v1/health", timeout=5)
        crm.set_faults(down=False, error_rate=0.0)
        token = _auth(crm.url).json()

    assert faults["down"] is True
    assert faults["error_rate"] == 0.25
    assert faults["latency_ms"] == 7
    assert faults["rate_limit"] == 0
    assert faults["token_ttl"] == 20
    assert faults["apply_then_timeout_rate"] == 0.02
    assert faults["hold_ms"] == 12000
    assert faults["clock_skew_s"] == -300
    assert health.status_code == 503
    assert token["expires_in"] == 20


def test_api_key_flag(tmp_path: Path, clean_env: None) -> None:
    with start_crm_process(tmp_path / "crm.db", "--api-key", "k-1") as crm:
        assert _auth(crm.url, api_key="wrong").status_code == 401
        assert _auth(crm.url, api_key="k-1").status_code == 200
    log = (tmp_path / "crm.db.log").read_text()
    assert "k-1" not in log


def test_invalid_flag_value_is_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "acmecrm", "--port", "0", "--error-rate", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    assert "argument --error-rate: must be a number from 0 to 1, got '2'" in (
        result.stderr
    )


def test_helper_reports_early_exit(tmp_path: Path) -> None:
    crm = CrmProcess(tmp_path / "crm.db", ("--rate-limit", "-1"), 0)
    with pytest.raises(RuntimeError, match="exited with status 2"):
        crm.start(timeout_s=15)


def test_port_in_use_exits_1(tmp_path: Path, clean_env: None) -> None:
    with start_crm_process(tmp_path / "a.db") as first:
        result = subprocess.run(
            [*ACMECRM, "--port", str(first.port), "--db", str(tmp_path / "b.db")],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{first.port}" in result.stderr
    assert "choose another --port" in result.stderr


def test_unusable_database_exits_1(tmp_path: Path, clean_env: None) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = subprocess.run(
        [*ACMECRM, "--port", "0", "--db", str(blocker / "crm.db")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=30,
    )
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr


def test_log_has_no_secrets_or_contacts(tmp_path: Path, clean_env: None) -> None:
    email = "private.person@example.com"
    with start_crm_process(
        tmp_path / "crm.db", "--log-level", "debug", "--api-key", "key-xyz"
    ) as crm:
        token = _auth(crm.url, api_key="key-xyz").json()["token"]
        assert _post(crm.url, token, email, "lead:1").status_code == 201
        listing = requests.get(
            f"{crm.url}/api/v1/contacts",
            params={"email": email},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert listing.json()["total"] == 1
        assert _auth(crm.url, api_key="wrong-key").status_code == 401
        bad = requests.get(
            f"{crm.url}/api/v1/contacts",
            headers={"Authorization": "Bearer not-a-token"},
            timeout=5,
        )
        assert bad.status_code == 401
    log = (tmp_path / "crm.db.log").read_text()
    secret = (tmp_path / "acmecrm.secret").read_text().strip()
    assert "GET /api/v1/contacts -> 200" in log
    assert "private.person" not in log
    assert "key-xyz" not in log
    assert "wrong-key" not in log
    assert token not in log
    assert "not-a-token" not in log
    assert secret not in log


def test_sigterm_ends_held_response(tmp_path: Path, clean_env: None) -> None:
    crm = start_crm_process(
        tmp_path / "crm.db", "--apply-then-timeout-rate", "1", "--hold-ms", "60000"
    )
    try:
        token = _auth(crm.url).json()["token"]
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(
                f"{crm.url}/api/v1/contacts",
                json={"acme_email": "held@example.com"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=0.5,
            )
    finally:
        started = time.monotonic()
        assert crm.stop(timeout_s=10) == 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "99999"), "argument --port: must be an integer from 0 to 65535"),
        (("--port", "70000"), "argument --port: must be an integer from 0 to 65535"),
        (
            ("--port", "0", "--clock-skew-s", "nan"),
            "argument --clock-skew-s: must be a number from -86400 to 86400 seconds",
        ),
    ],
)
def test_out_of_range_flag_exits_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = subprocess.run(
        [*ACMECRM, "--db", str(tmp_path / "crm.db"), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "listening" not in result.stdout


def test_open_secret_file_tightened(tmp_path: Path, clean_env: None) -> None:
    secret_file = tmp_path / "acmecrm.secret"
    secret_file.write_text("secret-written-by-hand-0123456789\n", encoding="ascii")
    secret_file.chmod(0o644)
    with start_crm_process(tmp_path / "crm.db"):
        mode = stat.S_IMODE(secret_file.stat().st_mode)
    log = (tmp_path / "crm.db.log").read_text()
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert mode == 0o600
    assert len(warnings) == 1
    assert (
        "had mode 0644, open to other users, and was changed to 0600" in (warnings[0])
    )
    assert "secret-written-by-hand" not in log
