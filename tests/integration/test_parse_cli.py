"""``kiosk parse`` run as a subprocess: exit statuses, stdout JSON, stdin bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Return an environment whose user config folder is empty."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")
    env["XDG_DATA_HOME"] = str(tmp_path / "data-home")
    env.pop("KIOSK_CRM_URL", None)
    env.pop("KIOSK_CRM_API_KEY", None)
    return env


def run_parse(
    env: dict[str, str], *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "parse", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=TIMEOUT_S,
        check=False,
    )


def stdout_json(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1, "stdout must hold exactly one JSON line"
    data: dict[str, Any] = json.loads(lines[0])
    return data


def test_contact_argument_exit_0(isolated_env: dict[str, str]) -> None:
    payload = "MECARD:N:Castellanos,Lucía;TEL:+14155550132;EMAIL:lucia@example.com;;"
    result = run_parse(isolated_env, payload)
    assert result.returncode == 0, result.stderr.decode()
    assert stdout_json(result) == {
        "first_name": "Lucía",
        "last_name": "Castellanos",
        "email": "lucia@example.com",
        "phone": "+14155550132",
        "source_format": "mecard",
    }
    assert "Lucía".encode() in result.stdout


def test_not_a_contact_exit_3(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, "Welcome to Booth 42! Spin the wheel to win.")
    assert result.returncode == 3
    assert stdout_json(result) == {
        "error": "unrecognized_payload",
        "message": "This code holds text but no contact details. Enter them by hand.",
    }


def test_stdin_bytes_unchanged(isolated_env: dict[str, str]) -> None:
    payload = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Wren;Tobias\r\nNOTE:a\r\n b\r\nEND:VCARD\r\n"
    )
    result = run_parse(isolated_env, "-", stdin=payload.encode("utf-8"))
    assert result.returncode == 0, result.stderr.decode()
    data = stdout_json(result)
    assert data["first_name"] == "Tobias"
    assert data["notes"] == "ab"


def test_stdin_is_default(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, stdin=b"tel:+1-718-555-0126;ext=12")
    assert result.returncode == 0, result.stderr.decode()
    assert stdout_json(result)["phone_ext"] == "12"


def test_stdin_binary_exit_3(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, "-", stdin=b"\x00\x01\x02PK\x03\x04\xff\xfe")
    assert result.returncode == 3
    assert stdout_json(result)["error"] == "binary_payload"


def test_stdin_non_utf8_exit_3(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, stdin=b"caf\xe9 jo@example.com")
    assert result.returncode == 3
    assert stdout_json(result)["error"] == "binary_payload"


def test_stdin_too_large_exit_3(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, "-", stdin=b"A" * 20_000)
    assert result.returncode == 3
    assert stdout_json(result)["error"] == "payload_too_large"


def test_empty_stdin_exit_3(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, stdin=b"")
    assert result.returncode == 3
    assert stdout_json(result)["error"] == "empty_payload"


def test_config_layout_applies(isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[[badges.layouts]]\ndelimiter = ","\n'
        'columns = ["badge_id", "name", "company", "title", "email"]\n',
        encoding="utf-8",
    )
    payload = 'ATT-88,"Nakamura, Kenji",Kestrel Aero,Director,kenji@example.com'
    result = run_parse(isolated_env, "--config", str(config), payload)
    assert result.returncode == 0, result.stderr.decode()
    data = stdout_json(result)
    assert data["first_name"] == "Kenji"
    assert data["badge_id"] == "ATT-88"


def test_bad_config_exit_1(isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[badges\n", encoding="utf-8")
    result = run_parse(isolated_env, "--config", str(config), "tel:+17185550126")
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"not valid TOML" in result.stderr


def test_missing_config_exit_1(isolated_env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = run_parse(isolated_env, "--config", str(missing), "tel:+17185550126")
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"not found" in result.stderr


def test_escape_charset_exit_0(isolated_env: dict[str, str]) -> None:
    payload = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=unicode-escape;ENCODING=QUOTED-PRINTABLE:\\ud800;Jo\r\n"
        "EMAIL:jo@example.com\r\nEND:VCARD\r\n"
    )
    result = run_parse(isolated_env, "-", stdin=payload.encode("utf-8"))
    assert result.returncode == 0, result.stderr.decode()
    data = stdout_json(result)
    assert data["last_name"] == "\\ud800"
    assert data["email"] == "jo@example.com"
    assert result.stderr == b""


def test_payload_after_double_dash(isolated_env: dict[str, str]) -> None:
    result = run_parse(isolated_env, "--", "-A5521 jo@example.com")
    assert result.returncode == 0, result.stderr.decode()
    assert stdout_json(result)["email"] == "jo@example.com"


def test_tel_label_text_keeps_email(isolated_env: dict[str, str]) -> None:
    payload = "Tel: +1 415 555 0132\nEmail: jo@example.com\nJo Doe"
    result = run_parse(isolated_env, payload)
    assert result.returncode == 0, result.stderr.decode()
    assert stdout_json(result) == {
        "email": "jo@example.com",
        "phone": "+14155550132",
        "source_format": "plain-text",
    }
