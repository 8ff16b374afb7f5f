"""kiosk.runtime.Runtime with a real SQLite store and the embedded AcmeCRM server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.config import Config, parse_config
from kiosk.errors import KioskError
from kiosk.runtime import EMBEDDED_CRM_LABEL, Runtime, check_crm_url, is_loopback_url


def wait_until_synced(runtime: Runtime, lead_id: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        state = runtime.store.get_lead(lead_id).sync_state
        if state == "synced" or time.monotonic() >= deadline:
            return state
        time.sleep(0.02)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = Runtime(
        Config(), f"sqlite:///{tmp_path / 'kiosk.sqlite3'}", crm_data_dir=tmp_path
    )
    yield built
    built.close()


def test_runtime_embedded_crm_label(runtime: Runtime) -> None:
    assert runtime.embedded_crm is not None
    assert runtime.crm_label == EMBEDDED_CRM_LABEL
    assert is_loopback_url(runtime.crm_url)
    health = requests.get(f"{runtime.crm_url}/api/v1/health", timeout=5)
    assert health.status_code == 200


def test_runtime_save_reaches_crm(runtime: Runtime) -> None:
    runtime.start_sync_thread()
    fields = {"first_name": "Zoë", "last_name": "Brontë", "email": "zoe@example.com"}

    saved = runtime.save_lead(fields)

    assert saved.revision == 1
    assert wait_until_synced(runtime, saved.lead_id) == "synced"
    stats = runtime.embedded_crm.stats()
    assert stats["contacts"] == 1
    assert stats["created"] == 1


def test_runtime_records_metrics(runtime: Runtime) -> None:
    runtime.start_sync_thread()
    saved = runtime.save_lead({"first_name": "Inês", "email": "ines@example.com"})
    assert wait_until_synced(runtime, saved.lead_id) == "synced"

    assert runtime.metrics.summary("save_commit")["count"] == 1
    assert runtime.metrics.summary("crm_request")["count"] >= 1


def test_runtime_close_stops_crm(tmp_path: Path) -> None:
    runtime = Runtime(
        Config(), f"sqlite:///{tmp_path / 'kiosk.sqlite3'}", crm_data_dir=tmp_path
    )
    runtime.start_sync_thread()
    url = runtime.crm_url

    runtime.close()

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v1/health", timeout=2)


def test_runtime_external_crm_url(tmp_path: Path) -> None:
    with Runtime(
        Config(),
        f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        "http://127.0.0.1:9/",
    ) as runtime:
        assert runtime.embedded_crm is None
        assert runtime.crm_url == "http://127.0.0.1:9"
        assert runtime.crm_label == "http://127.0.0.1:9"


def test_runtime_config_crm_url(tmp_path: Path) -> None:
    config = parse_config({"crm": {"url": "http://127.0.0.1:9"}})
    with Runtime(config, f"sqlite:///{tmp_path / 'kiosk.sqlite3'}") as runtime:
        assert runtime.embedded_crm is None
        assert runtime.crm_url == "http://127.0.0.1:9"


def test_runtime_rejects_plain_http_remote(tmp_path: Path) -> None:
    with pytest.raises(KioskError, match="https"):
        Runtime(
            Config(),
            f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
            "http://crm.example.com",
        )
    assert not (tmp_path / "kiosk.sqlite3").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://127.5.0.1", True),
        ("http://[::1]:80", True),
        ("http://localhost:1", True),
        ("https://crm.example.com", False),
        ("http://10.0.0.1", False),
    ],
)
def test_is_loopback_url(url: str, expected: bool) -> None:
    assert is_loopback_url(url) is expected


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1", "127.0.0.1:8765", "http://", "http://crm.example.com"]
)
def test_check_crm_url_rejects(url: str) -> None:
    with pytest.raises(KioskError):
        check_crm_url(url)


def test_check_crm_url_accepts_https() -> None:
    assert check_crm_url("https://crm.example.com/") == "https://crm.example.com"


def test_runtime_samples_queue_depth(tmp_path: Path) -> None:
    runtime = Runtime(
        Config(),
        f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        crm_data_dir=tmp_path,
        queue_sample_s=0.05,
    )
    try:
        # No sync thread runs, so both leads stay waiting.
        runtime.save_lead({"first_name": "Ana", "email": "ana@example.com"})
        runtime.save_lead({"first_name": "Bo", "email": "bo@example.com"})
        deadline = time.monotonic() + 10
        depths: list[int] = []
        while 2 not in depths and time.monotonic() < deadline:
            time.sleep(0.05)
            depths = [depth for _, depth in runtime.metrics.queue_depth_series()]
        assert 2 in depths
    finally:
        runtime.close()
    assert runtime._sampler_thread is not None
    assert not runtime._sampler_thread.is_alive()


def test_runtime_without_queue_sampler(tmp_path: Path) -> None:
    with Runtime(
        Config(),
        f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        crm_data_dir=tmp_path,
        queue_sample_s=None,
    ) as runtime:
        assert runtime._sampler_thread is None


def test_runtime_rejects_zero_sample_interval(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="queue_sample_s"):
        Runtime(
            Config(),
            f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
            crm_data_dir=tmp_path,
            queue_sample_s=0,
        )
    assert not (tmp_path / "kiosk.sqlite3").exists()
