"""kiosk-sync's reading of the configuration file, and the CRM URL check."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_daemon.connectors.acme import InsecureUrlError, check_crm_url
from sync_daemon.settings import SettingsError, load_daemon_config


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
