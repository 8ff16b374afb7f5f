"""``kiosk scan`` exits non-zero when the camera source fails before its end."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kiosk.capture import sources
from kiosk.capture.errors import CameraError
from kiosk.commands import scan

from .test_loop import BrokenSource


@pytest.mark.expected_log("kiosk.capture.loop")
def test_scan_source_failure_exits_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    source = BrokenSource(CameraError("device unplugged"))
    monkeypatch.setattr(sources, "open_source", lambda *args, **kwargs: source)
    args = argparse.Namespace(
        camera="demo",
        db=f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        crm_url=None,
        config=None,
        auto_save=True,
        timeout=60.0,
    )

    status = scan.run(args)

    assert status == scan.EXIT_SOURCE_FAILED
    assert status != scan.EXIT_SYNCED
    stderr = capsys.readouterr().err
    assert "camera source failed before its end (device unplugged)" in stderr
    assert source.closed
