"""A burst reports every frame it did not save as a new lead, and never stops early."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from kiosk.burst import PreparedBurst, prepare_burst, run_burst
from kiosk.capture.render import render_badge_frame
from kiosk.config import Config
from kiosk.contacts.model import PayloadRejected
from kiosk.pipeline import LeadPipeline
from kiosk.runtime import Runtime


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = Runtime(
        Config(),
        f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        crm_data_dir=tmp_path,
        queue_sample_s=None,
    )
    built.start_sync_thread()
    yield built
    built.close()


@pytest.mark.parametrize("workers", [2, 4])
def test_burst_reports_rejected_format(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # One payload format of four failing to parse loses a quarter of the frames,
    # and each of them must be listed in the result.
    parse_code = LeadPipeline.parse_code

    def reject_bizcard(self: LeadPipeline, code: Any) -> Any:
        if code.text.startswith("BIZCARD:"):
            raise PayloadRejected("unsupported_format", "rejected for the test")
        return parse_code(self, code)

    monkeypatch.setattr(LeadPipeline, "parse_code", reject_bizcard)
    prepared = prepare_burst(20)
    bizcard_frames = [
        index
        for index, attendee in enumerate(prepared.attendees)
        if attendee.payload_format == "bizcard"
    ]

    result = run_burst(runtime, prepared, workers=workers, sync_timeout_s=30)

    assert result.saved == 20 - len(bizcard_frames)
    assert result.synced == result.saved
    assert result.seconds_to_all_saved is None
    assert len(result.errors) == len(bizcard_frames)
    for index in bizcard_frames:
        expected = f"frame {index}: not saved as a new lead (unsupported_format)"
        assert expected in result.errors
    assert runtime.store.count_leads() == result.saved


@pytest.mark.expected_log("kiosk.burst")
def test_burst_reports_failed_save(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_leads = runtime.save_leads
    calls = {"count": 0}

    def fail_first_save(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return save_leads(*args, **kwargs)

    monkeypatch.setattr(runtime, "save_leads", fail_first_save)
    prepared = prepare_burst(8)

    result = run_burst(runtime, prepared, workers=2, sync_timeout_s=30)

    failed = [error for error in result.errors if "database is locked" in error]
    assert failed
    assert len(failed) == len(result.errors)
    assert result.saved + len(failed) == 8
    assert runtime.store.count_leads() == result.saved
    assert result.synced == result.saved


@pytest.mark.parametrize(
    ("twin_payload", "status"),
    [
        (None, "unchanged"),
        ("MECARD:N:Other,Person;EMAIL:{email};;", "updated"),
    ],
)
def test_burst_reports_merged_visitors(
    runtime: Runtime, twin_payload: str | None, status: str
) -> None:
    prepared = prepare_burst(4)
    # Frame 3 shows frame 0's badge, or another card with frame 0's email: two
    # "visitors" would become one lead.
    first = prepared.attendees[0]
    payload = (
        first.payload
        if twin_payload is None
        else twin_payload.format(email=first.email)
    )
    twin = dataclasses.replace(first, payload=payload)
    attendees = (*prepared.attendees[:3], twin)
    frames = (*prepared.frames[:3], render_badge_frame(payload, seed=3))
    merged = PreparedBurst(attendees, frames, prepared.seconds_rendering)

    result = run_burst(runtime, merged, workers=1, sync_timeout_s=30)

    assert result.saved == 3
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"frame 3: not saved as a new lead ({status}")
    assert runtime.store.count_leads() == 3


def test_burst_result_json_lists_errors(runtime: Runtime) -> None:
    prepared = prepare_burst(2)
    blank = prepared.frames[0] * 0 + 255
    broken = dataclasses.replace(prepared, frames=(blank, prepared.frames[1]))

    result = run_burst(runtime, broken, workers=2, sync_timeout_s=30)

    figures = result.to_json_dict()
    assert figures["saved"] == 1
    assert figures["errors"] == ["frame 0: no QR code decoded"]
