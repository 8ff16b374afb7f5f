"""The scan burst, headless, against the embedded AcmeCRM server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.burst import (
    PAYLOAD_FORMATS,
    BurstProgress,
    generate_attendees,
    percentile,
    prepare_burst,
    run_burst,
)
from kiosk.config import Config
from kiosk.contacts import parse
from kiosk.runtime import Runtime
from tests.conftest import REPO_ROOT

JSON_KEYS = {
    "count",
    "saved",
    "synced",
    "seconds_to_all_saved",
    "seconds_to_all_synced",
    "seconds_rendering",
    "save_latency_ms_p50",
    "save_latency_ms_p95",
    "scan_to_save_ms_p50",
    "scan_to_save_ms_p95",
    "gui_stall_ms_max",
    "errors",
}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = Runtime(
        Config(), f"sqlite:///{tmp_path / 'kiosk.sqlite3'}", crm_data_dir=tmp_path
    )
    built.start_sync_thread()
    yield built
    built.close()


def test_attendees_distinct_across_runs() -> None:
    first = generate_attendees(40)
    second = generate_attendees(40)

    emails = {a.email for a in first} | {a.email for a in second}
    assert len(emails) == 80
    assert {a.payload_format for a in first} == set(PAYLOAD_FORMATS)
    assert len({(a.first_name, a.last_name) for a in first}) == 40
    assert any(not a.first_name.isascii() for a in first)


@pytest.mark.parametrize("payload_format", PAYLOAD_FORMATS)
def test_attendee_payload_parses(payload_format: str) -> None:
    attendees = [
        a for a in generate_attendees(20) if a.payload_format == payload_format
    ]
    for attendee in attendees:
        contact = parse(attendee.payload)
        assert contact.email == attendee.email
        assert contact.phone, payload_format
        assert contact.first_name == attendee.first_name, payload_format
        assert contact.last_name == attendee.last_name, payload_format


def test_burst_saves_and_syncs(runtime: Runtime) -> None:
    progress: list[BurstProgress] = []
    prepared = prepare_burst(20)

    result = run_burst(runtime, prepared, on_progress=progress.append)

    assert result.errors == ()
    assert result.saved == 20
    assert result.synced == 20
    assert result.seconds_to_all_saved is not None
    assert result.seconds_to_all_synced is not None
    assert result.seconds_to_all_synced >= result.seconds_to_all_saved
    assert result.save_latency_ms_p95 is not None
    assert len(set(result.lead_ids)) == 20
    assert runtime.embedded_crm.stats()["contacts"] == 20
    assert progress[-1].synced == 20
    assert runtime.metrics.summary("save_commit")["count"] == 20


def test_burst_records_crm_fields(runtime: Runtime) -> None:
    prepared = prepare_burst(4, run_id="fixed1")
    result = run_burst(runtime, prepared)
    assert result.synced == 4

    attendees = {a.email: a for a in prepared.attendees}
    for lead_id in result.lead_ids:
        lead = runtime.store.get_lead(lead_id)
        attendee = attendees[lead.fields["email"]]
        assert lead.fields["phone"], attendee.payload_format
        assert lead.fields["first_name"] == attendee.first_name
        assert lead.fields["last_name"] == attendee.last_name


def test_burst_command_json(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "burst",
            "--count",
            "30",
            "--headless",
            "--json",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) >= JSON_KEYS
    assert figures["count"] == 30
    assert figures["saved"] == 30
    assert figures["synced"] == 30
    assert figures["gui_stall_ms_max"] is None
    assert figures["errors"] == []
    assert figures["seconds_rendering"] > 0
    assert figures["seconds_to_all_synced"] >= figures["seconds_to_all_saved"]
    assert not (tmp_path / "xdg-data").exists()


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([], 95) is None
    assert percentile([7.0], 50) == 7.0
