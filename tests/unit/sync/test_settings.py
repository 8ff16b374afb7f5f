"""kiosk-sync's reading of the configuration file, and the CRM URL check."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_daemon.connectors.acme import AcmeConnector, InsecureUrlError, check_crm_url
from sync_daemon.settings import SettingsError, load_daemon_config
from sync_daemon.urls import redact_url


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_crm_and_sync(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[crm]\nurl = "https://crm.example.com"\napi_key = "k"\ntimeout_s = 4\n'
        "[sync]\nbatch_size = 50\nbackoff_cap_s = 10\n"
        '[capture]\ndefault_region = "DE"\n',
    )
    config = load_daemon_config(path, environ={})
    assert config.crm.url == "https://crm.example.com"
    assert config.crm.api_key == "k"
    assert config.crm.timeout_s == 4.0
    assert config.sync.batch_size == 50
    assert config.sync.backoff_cap_s == 10.0
    assert config.sync.lease_s == 30.0


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[crm]\nurl = "https://a.example.com"\napi_key = "file"\n')
    environ = {"KIOSK_CRM_URL": "https://b.example.com", "KIOSK_CRM_API_KEY": "env"}
    config = load_daemon_config(path, environ=environ)
    assert config.crm.url == "https://b.example.com"
    assert config.crm.api_key == "env"


def test_repr_hides_api_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[crm]\napi_key = "very-secret"\n')
    assert "very-secret" not in repr(load_daemon_config(path, environ={}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sync]\nbatch = 5\n", "Unknown key(s) batch in [sync]"),
        ('[sync]\nbatch_size = "5"\n', "batch_size must be an integer"),
        ("[sync]\nbatch_size = 500\n", "batch_size must be 1 to 100"),
        ("[crm]\ntimeout_s = true\n", "timeout_s must be a number"),
        ("crm = 3\n", "[crm] must be a table"),
        ("[crm\n", "not valid TOML"),
    ],
)
def test_invalid_config_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_daemon_config(write(tmp_path, text), environ={})
    assert message in str(caught.value)


def test_missing_named_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_daemon_config(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com",
        "http://127.0.0.1:8765",
        "http://localhost:8765/",
        "http://[::1]:8765",
        "http://127.5.6.7",
    ],
)
def test_accepted_crm_urls(url: str) -> None:
    assert not check_crm_url(url).endswith("/")


@pytest.mark.parametrize(
    "url",
    ["http://crm.example.com", "http://10.0.0.5:8765", "ftp://127.0.0.1", "https://"],
)
def test_rejected_crm_urls(url: str) -> None:
    with pytest.raises(InsecureUrlError):
        check_crm_url(url)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[crm]\ntimeout_s = -1\n", "timeout_s in"),
        ("[crm]\ntimeout_s = 0\n", "must be a positive number of seconds"),
        ("[sync]\nrate_limit_per_minute = -5\n", "rate_limit_per_minute must be 0"),
        ("[sync]\nlease_s = nan\n", "lease_s must be a finite number"),
        ("[sync]\nbackoff_cap_s = inf\n", "backoff_cap_s must be a finite number"),
        ("[sync]\nlease_s = 2\n[crm]\ntimeout_s = 10\n", "must be longer than [crm]"),
        ("[sync]\nlease_s = 10\n[crm]\ntimeout_s = 10\n", "Raise lease_s or lower"),
    ],
)
def test_out_of_range_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_daemon_config(write(tmp_path, text), environ={})
    assert message in str(caught.value)
    assert str(caught.value).count("[sync] in") <= 1


def test_rate_limit_zero_means_off(tmp_path: Path) -> None:
    path = write(tmp_path, "[sync]\nrate_limit_per_minute = 0\n")
    assert load_daemon_config(path, environ={}).sync.rate_limit_per_minute == 0


def test_lease_just_over_timeout_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "[sync]\nlease_s = 2.5\n[crm]\ntimeout_s = 2\n")
    assert load_daemon_config(path, environ={}).sync.lease_s == 2.5


def test_config_not_utf8_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[crm]\n")
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        load_daemon_config(path, environ={})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://user:pw@127.0.0.1:8765", "contains a user name or password"),
        ("https://user:pw@crm.example.com", "KIOSK_CRM_API_KEY"),
        ("http://127.0.0.1:99999", "invalid port"),
        ("http://127.0.0.1:0", "invalid port"),
        ("http://127.0.0.1:port", "invalid port"),
        ("https://crm.example.com/?api_key=pw", "query or fragment"),
        ("http://[::1", "not an http(s) URL"),
    ],
)
def test_crm_url_rejected_with_reason(url: str, message: str) -> None:
    with pytest.raises(InsecureUrlError) as caught:
        check_crm_url(url)
    assert message in str(caught.value)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:8765/api/v1", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/api/v1/", "http://127.0.0.1:8765"),
        ("https://crm.example.com/acme/api/v1", "https://crm.example.com/acme"),
        ("https://crm.example.com/acme/", "https://crm.example.com/acme"),
    ],
)
def test_crm_url_api_path_stripped(url: str, base: str) -> None:
    assert check_crm_url(url) == base


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@192.0.2.1/x", "http://***@192.0.2.1/x"),
        (
            "postgresql://kiosk:pw@db.example.com/leads",
            "postgresql://***@db.example.com/leads",
        ),
        ("https://crm.example.com/?api_key=pw", "https://crm.example.com/?***"),
        (
            "sqlite:////var/lib/kiosk/leads.sqlite3",
            "sqlite:////var/lib/kiosk/leads.sqlite3",
        ),
        ("notaurl", "notaurl"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_connector_rejects_bad_timeout() -> None:
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        AcmeConnector("http://127.0.0.1:8765", timeout_s=0)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("127.evil.example", False),
        ("example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_host(host: str, expected: bool) -> None:
    from sync_daemon.connectors.acme import is_loopback_host

    assert is_loopback_host(host) is expected
