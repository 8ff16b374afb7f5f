from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.capture import zbar
from kiosk.capture.decoders import DecoderChain
from kiosk.capture.render import qr_image, render_badge_frame


@pytest.fixture
def zbar_missing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import pyzbar.wrapper

    def fail() -> None:
        raise ImportError("Unable to find zbar shared library")

    monkeypatch.setattr(pyzbar.wrapper, "load_libzbar", fail)
    monkeypatch.setattr(zbar, "_wrapper", None)
    monkeypatch.setattr(zbar, "_load_failed", False)
    yield
    # monkeypatch restores the loaded library state afterwards.


@pytest.mark.expected_log("kiosk.capture.zbar")
def test_missing_zbar_warns_once_and_chain_works(
    zbar_missing: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert zbar.zbar_scan(qr_image("anything", 200)) == []
    assert zbar.zbar_scan(qr_image("anything", 200)) == []
    warnings = [r for r in caplog.records if r.name == "kiosk.capture.zbar"]
    assert len(warnings) == 1
    assert "libzbar0" in warnings[0].getMessage()
    frame = render_badge_frame("still decoded", seed=1)
    assert [code.text for code in DecoderChain().decode_still(frame)] == [
        "still decoded"
    ]


def test_zbar_available_here() -> None:
    assert zbar.zbar_available()
