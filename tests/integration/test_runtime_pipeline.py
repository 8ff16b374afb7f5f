"""kiosk.pipeline.LeadPipeline on a real store: parse, merge the same visitor, save."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kiosk.capture.types import DecodedCode
from kiosk.config import Config, parse_config
from kiosk.pipeline import CREATED, REJECTED, UNCHANGED, UPDATED, LeadPipeline
from kiosk.pipeline import merge_fields as merge_scan
from kiosk.runtime import Runtime

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Brontë;Zoë;;;\r\nFN:Zoë Brontë\r\n"
    "EMAIL:zoe.bronte@example.com\r\nEND:VCARD"
)
VCARD_UPPER_EMAIL = VCARD.replace("zoe.bronte@", "ZOE.BRONTE@")
VCARD_WITH_TITLE = VCARD.replace("END:VCARD", "TITLE:Ingénieure\r\nEND:VCARD")
MECARD_NO_EMAIL = "MECARD:N:Dvořák,Míša;TEL:+12015550123;;"


def code(text: str) -> DecodedCode:
    return DecodedCode(text=text, raw=text.encode("utf-8"), decoder="test")


def make_runtime(tmp_path: Path, config: Config | None = None) -> Runtime:
    # An unreachable loopback CRM: these tests never start the sync thread.
    return Runtime(
        config or Config(),
        f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        "http://127.0.0.1:9",
    )


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = make_runtime(tmp_path)
    yield built
    built.close()


def test_pipeline_creates_lead(runtime: Runtime) -> None:
    outcome = LeadPipeline(runtime).handle_code(code(VCARD))

    assert outcome.status == CREATED
    assert outcome.revision == 1
    assert outcome.has_email
    assert outcome.save_ms is not None
    lead = runtime.store.get_lead(outcome.lead_id)
    assert lead.fields["first_name"] == "Zoë"
    assert lead.sync_state == "pending"


def test_pipeline_same_email_other_case(runtime: Runtime) -> None:
    pipeline = LeadPipeline(runtime)
    first = pipeline.handle_code(code(VCARD))

    second = pipeline.handle_code(code(VCARD_UPPER_EMAIL))

    assert second.lead_id == first.lead_id
    assert runtime.store.count_leads() == 1


def test_pipeline_identical_scan_unchanged(runtime: Runtime) -> None:
    pipeline = LeadPipeline(runtime)
    first = pipeline.handle_code(code(VCARD))

    second = pipeline.handle_code(code(VCARD))

    assert second.status == UNCHANGED
    assert second.lead_id == first.lead_id
    assert second.save_ms is None
    assert runtime.store.get_lead(first.lead_id).revision == 1


def test_pipeline_new_info_new_revision(runtime: Runtime) -> None:
    pipeline = LeadPipeline(runtime)
    first = pipeline.handle_code(code(VCARD))

    second = pipeline.handle_code(code(VCARD_WITH_TITLE))

    assert second.status == UPDATED
    assert second.lead_id == first.lead_id
    assert second.revision == 2
    assert runtime.store.get_lead(first.lead_id).fields["title"] == "Ingénieure"


def test_pipeline_merges_by_payload(runtime: Runtime) -> None:
    pipeline = LeadPipeline(runtime)
    first = pipeline.handle_code(code(MECARD_NO_EMAIL))

    second = pipeline.handle_code(code(MECARD_NO_EMAIL))

    assert first.status == CREATED
    assert not first.has_email
    assert second.status == UNCHANGED
    assert second.lead_id == first.lead_id


def test_pipeline_merges_by_badge_id(tmp_path: Path) -> None:
    config = parse_config(
        {
            "badges": {
                "layouts": [
                    {
                        "delimiter": ";",
                        "columns": ["badge_id", "first_name", "last_name", "company"],
                    }
                ]
            }
        }
    )
    with make_runtime(tmp_path, config) as runtime:
        pipeline = LeadPipeline(runtime)
        first = pipeline.handle_code(code("A-1001;Søren;Nørgaard;Nordlys AS"))
        second = pipeline.handle_code(code("A-1001;Søren;Nørgaard;Nordlys ASA"))

        assert first.status == CREATED
        assert second.status == UPDATED
        assert second.lead_id == first.lead_id
        assert runtime.store.get_lead(first.lead_id).fields["company"] == "Nordlys ASA"


def test_pipeline_rejects_non_contact(runtime: Runtime) -> None:
    outcome = LeadPipeline(runtime).handle_code(code("just some words"))

    assert outcome.status == REJECTED
    assert outcome.reject_code == "unrecognized_payload"
    assert outcome.reject_message
    assert outcome.lead_id == ""
    assert runtime.store.count_leads() == 0


def test_pipeline_concurrent_same_visitor(runtime: Runtime) -> None:
    pipeline = LeadPipeline(runtime)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(pipeline.handle_code, [code(VCARD)] * 8))

    assert [o.status for o in outcomes].count(CREATED) == 1
    assert len({o.lead_id for o in outcomes}) == 1
    assert runtime.store.count_leads() == 1


def test_merge_keeps_operator_fields() -> None:
    stored = {
        "first_name": "Zoë",
        "rating": "hot",
        "notes": "met at booth",
        "title": "",
    }
    scanned = {"first_name": "Zoë", "rating": "", "notes": "", "title": "CTO"}

    merged = merge_scan(stored, scanned)

    assert merged["rating"] == "hot"
    assert merged["notes"] == "met at booth"
    assert merged["title"] == "CTO"


def test_merge_lists_compare_as_json() -> None:
    stored = {"other_emails": ["a@example.com"], "department": []}
    scanned = {"other_emails": ("a@example.com",), "department": ()}

    assert merge_scan(stored, scanned) == stored


def distinct_vcard(index: int) -> str:
    return VCARD.replace("zoe.bronte@", f"zoe.bronte.{index}@")


def test_group_commit_distinct_visitors(runtime: Runtime) -> None:
    payloads = [distinct_vcard(index) for index in range(12)]

    with LeadPipeline(runtime, group_commit=True) as pipeline:
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(pipeline.handle_code, map(code, payloads)))

    assert [o.status for o in outcomes] == [CREATED] * 12
    assert len({o.lead_id for o in outcomes}) == 12
    assert all(o.save_ms is not None for o in outcomes)
    assert runtime.store.count_leads() == 12
    assert runtime.queue_stats().pending == 12


def test_group_commit_same_visitor(runtime: Runtime) -> None:
    codes = [code(VCARD)] * 6 + [code(VCARD_WITH_TITLE)] * 2

    with LeadPipeline(runtime, group_commit=True) as pipeline:
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(pipeline.handle_code, codes))

    statuses = [o.status for o in outcomes]
    assert statuses.count(CREATED) == 1
    assert len({o.lead_id for o in outcomes}) == 1
    assert runtime.store.count_leads() == 1
    lead = runtime.store.get_lead(outcomes[0].lead_id)
    assert lead.fields["title"] == "Ingénieure"


def test_group_commit_error_reaches_caller(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise ValueError("disk full")

    monkeypatch.setattr(runtime.store, "save_many", fail)

    with LeadPipeline(runtime, group_commit=True) as pipeline:
        with pytest.raises(ValueError, match="disk full"):
            pipeline.handle_code(code(VCARD))
    assert runtime.store.count_leads() == 0
