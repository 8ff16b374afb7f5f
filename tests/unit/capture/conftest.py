"""Fixtures for the capture tests: payloads and generated frames."""

from __future__ import annotations

import pytest

from kiosk.capture.render import render_badge_frame
from kiosk.capture.types import Image

VCARD_ACCENTS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;José;;;\r\nFN:José Müller\r\n"
    "ORG:Café Systèmes\r\nEMAIL:jose.muller@example.com\r\nEND:VCARD\r\n"
)
VCARD_CJK = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:山田;太郎;;;\r\nFN:山田 太郎\r\n"
    "ORG:東京ロボティクス株式会社\r\nTITLE:主任工程师\r\n"
    "EMAIL:taro.yamada@example.com\r\nEND:VCARD\r\n"
)
UTF8_VCARDS = [VCARD_ACCENTS, VCARD_CJK]


@pytest.fixture(params=UTF8_VCARDS, ids=["accents", "cjk"])
def vcard(request: pytest.FixtureRequest) -> str:
    text: str = request.param
    return text


@pytest.fixture
def vcard_frame(vcard: str) -> Image:
    return render_badge_frame(vcard, code_px=360, seed=7)
