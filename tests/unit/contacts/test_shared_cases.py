"""The handwritten payload cases kept beside the repository, one test each.

A case passes when every expected key equals the parser's value and every other
contact field stays empty; an error case must raise that code.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import parse_config
from kiosk.contacts import PayloadRejected, parse

CASES_FILE = (
    Path(__file__).resolve().parents[3].parent / "shared" / "cases" / "payloads.json"
)
# Keys that describe the reading rather than the visitor's data.
_BOOKKEEPING = {"source_format", "warnings"}


def _load_cases() -> list[Any]:
    if not CASES_FILE.is_file():
        reason = f"payload cases file {CASES_FILE} is absent"
        return [
            pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason=reason))
        ]
    cases = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"]) for case in cases]


def _result(case: dict[str, Any]) -> dict[str, Any]:
    config = None
    if "config" in case:
        config = parse_config(tomllib.loads(case["config"]))
    try:
        return parse(case["payload"], config).to_json_dict()
    except PayloadRejected as rejection:
        return {"error": rejection.code}


@pytest.mark.parametrize("case", _load_cases())
def test_shared_case(case: dict[str, Any]) -> None:
    got = _result(case)
    expected = case["expected"]
    for key, value in expected.items():
        assert got.get(key) == value, f"{case['id']}: {key}"
    extra = sorted(set(got) - set(expected) - _BOOKKEEPING)
    assert extra == [], f"{case['id']}: fields the payload does not carry"


@pytest.mark.parametrize("case", _load_cases())
def test_shared_case_as_bytes(case: dict[str, Any]) -> None:
    as_text = _result(case)
    as_bytes = _result({**case, "payload": case["payload"].encode("utf-8")})
    assert as_bytes == as_text
