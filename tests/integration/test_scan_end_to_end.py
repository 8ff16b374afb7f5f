"""``kiosk scan --auto-save`` as a subprocess against an ``acmecrm`` subprocess.

Real QR images (generated ones, and photographs of real codes when the test data
folder is present) are read from a folder camera, decoded, parsed and saved in a real
SQLite file, and pushed by the sync thread to the real AcmeCRM server over loopback
HTTP.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.capture.render import write_qr_png
from kiosk.contacts import PayloadRejected
from tests.conftest import REPO_ROOT
from tests.helpers.crm_process import CrmProcess, start_crm_process

SCAN_TIMEOUT_S = 180
CORPUS_FOLDERS = ("qrcode-1", "qrcode-2")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}

# Fast retries so a CRM that comes back is reached within about a second.
FAST_RETRY_CONFIG = """
[sync]
backoff_base_s = 0.2
backoff_cap_s = 0.5
"""

ANA_V1 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:López;Ana;;;\r\nFN:Ana López\r\n"
    "ORG:Café Olé Ltd\r\nTITLE:Ingénieure\r\nEMAIL:ana.lopez@example.com\r\n"
    "END:VCARD"
)
# The same visitor with her email in capitals and a new job title: one lead, revision 2.
ANA_V2 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:López;Ana;;;\r\nFN:Ana López\r\n"
    "ORG:Café Olé Ltd\r\nTITLE:Directrice technique\r\n"
    "EMAIL:ANA.LOPEZ@EXAMPLE.COM\r\nEND:VCARD"
)
BJORN = "MECARD:N:Sørensen,Björn;ORG:Nordlys AS;EMAIL:bjorn@example.org;;"
NO_EMAIL = "MECARD:N:Dvořák,Míša;TEL:+12015550123;;"
NOT_A_CONTACT = "hello from the booth next door"
LOOKUP_URL = "https://example.org/attendees/4711"


@pytest.fixture
def kiosk_env(tmp_path: Path) -> dict[str, str]:
    """Return an environment whose user folders are inside the test's tmp folder."""
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env.pop("KIOSK_CRM_URL", None)
    env.pop("KIOSK_CRM_API_KEY", None)
    return env


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmProcess]:
    process = start_crm_process(tmp_path / "crm.sqlite3")
    try:
        yield process
    finally:
        process.stop()


def run_scan(
    folder: Path,
    db_path: Path,
    crm_url: str,
    env: dict[str, str],
    config: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        scan_command(folder, db_path, crm_url, config),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCAN_TIMEOUT_S + 30,
        check=False,
    )


def scan_command(
    folder: Path, db_path: Path, crm_url: str, config: Path | None = None
) -> list[str]:
    command = [
        sys.executable, "-m", "kiosk", "scan",
        "--camera", str(folder),
        "--db", f"sqlite:///{db_path}",
        "--crm-url", crm_url,
        "--auto-save",
        "--timeout", str(SCAN_TIMEOUT_S),
    ]  # fmt: skip
    if config is not None:
        command += ["--config", str(config)]
    return command


def crm_contacts(crm_url: str) -> list[dict[str, Any]]:
    """Return every contact stored in the CRM, read through its API."""
    with requests.Session() as session:
        auth = session.post(
            f"{crm_url}/api/v1/auth",
            json={"email": "tests@example.com", "name": "Tests", "company": "Booth"},
            timeout=10,
        )
        auth.raise_for_status()
        session.headers["Authorization"] = f"Bearer {auth.json()['token']}"
        contacts: list[dict[str, Any]] = []
        while True:
            page = session.get(
                f"{crm_url}/api/v1/contacts",
                params={"limit": 100, "offset": len(contacts)},
                timeout=10,
            )
            page.raise_for_status()
            body = page.json()
            contacts.extend(body["contacts"])
            if not body["contacts"] or len(contacts) >= body["total"]:
                return contacts


def kiosk_leads(db_path: Path) -> list[dict[str, Any]]:
    """Return each lead with the state of its newest outbox row."""
    from kiosk.store import open_store

    store = open_store(f"sqlite:///{db_path}")
    try:
        return [
            {
                "lead_id": row.lead_id,
                "email": row.email,
                "revision": row.revision,
                "state": row.sync_state,
                "last_error": row.last_error,
                "fields": store.get_lead(row.lead_id).fields,
            }
            for row in store.list_leads(limit=10_000)
        ]
    finally:
        store.close()


def by_email(contacts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for contact in contacts:
        grouped.setdefault(contact["acme_email"].casefold(), []).append(contact)
    return grouped


CRM_FIELDS = {
    "first_name": "acme_first_name",
    "last_name": "acme_last_name",
    "phone": "acme_phone",
    "company": "acme_company",
    "title": "acme_job_title",
    "badge_id": "acme_badge_id",
}


def assert_crm_fields(fields: dict[str, Any], contact: dict[str, Any]) -> None:
    """Check that the CRM stores the lead's values under AcmeCRM's field names."""
    assert contact["acme_source"] == "Booth kiosk"
    for ours, theirs in CRM_FIELDS.items():
        if fields[ours]:
            assert contact.get(theirs) == fields[ours], theirs


def assert_scan_outcome(
    result: subprocess.CompletedProcess[str], db_path: Path, crm_url: str
) -> list[dict[str, Any]]:
    """Check the rules every scan must keep; return the kiosk's leads."""
    assert result.returncode == 3, result.stderr
    leads = kiosk_leads(db_path)
    contacts = by_email(crm_contacts(crm_url))
    with_email = {lead["email"].casefold() for lead in leads if lead["email"]}
    assert set(contacts) == with_email
    for email, found in contacts.items():
        assert len(found) == 1, f"{email} is in the CRM {len(found)} times"
    for lead in leads:
        if lead["email"]:
            assert lead["state"] == "synced", lead["lead_id"]
            assert_crm_fields(lead["fields"], contacts[lead["email"].casefold()][0])
        else:
            assert lead["state"] == "needs_attention", lead["lead_id"]
            assert lead["lead_id"] in result.stderr
    return leads


# -- generated images ----------------------------------------------------------


def test_scan_generated_codes(
    tmp_path: Path, crm: CrmProcess, kiosk_env: dict[str, str]
) -> None:
    folder = tmp_path / "camera"
    folder.mkdir()
    payloads = [ANA_V1, BJORN, NO_EMAIL, NOT_A_CONTACT, ANA_V2, LOOKUP_URL, BJORN]
    for index, payload in enumerate(payloads):
        write_qr_png(payload, folder / f"{index:02d}.png")
    db_path = tmp_path / "kiosk.sqlite3"

    result = run_scan(folder, db_path, crm.url, kiosk_env)

    leads = assert_scan_outcome(result, db_path, crm.url)
    emails = sorted(lead["email"].casefold() for lead in leads if lead["email"])
    assert emails == ["ana.lopez@example.com", "bjorn@example.org"]
    ana = next(lead for lead in leads if lead["email"].casefold().startswith("ana"))
    assert ana["revision"] == 2
    assert ana["fields"]["title"] == "Directrice technique"
    bjorn = next(lead for lead in leads if lead["email"] == "bjorn@example.org")
    assert bjorn["revision"] == 1
    assert any(not lead["email"] for lead in leads)
    assert "unrecognized_payload" in result.stderr
    assert NOT_A_CONTACT not in result.stderr
    assert "López" not in result.stderr
    assert "ana.lopez" not in result.stderr.casefold()


def test_scan_generated_fields_in_crm(
    tmp_path: Path, crm: CrmProcess, kiosk_env: dict[str, str]
) -> None:
    folder = tmp_path / "camera"
    folder.mkdir()
    write_qr_png(ANA_V1, folder / "01.png")
    write_qr_png(ANA_V2, folder / "02.png")
    db_path = tmp_path / "kiosk.sqlite3"

    result = run_scan(folder, db_path, crm.url, kiosk_env)

    assert result.returncode == 0, result.stderr
    contacts = crm_contacts(crm.url)
    assert len(contacts) == 1
    contact = contacts[0]
    assert contact["acme_first_name"] == "Ana"
    assert contact["acme_last_name"] == "López"
    assert contact["acme_company"] == "Café Olé Ltd"
    assert contact["acme_job_title"] == "Directrice technique"
    assert contact["acme_email"].casefold() == "ana.lopez@example.com"
    assert contact["acme_source"] == "Booth kiosk"
    # Revision 1 may be superseded before it is sent, so only "created" is fixed.
    assert crm.stats()["created"] == 1


# -- CRM offline, then back ----------------------------------------------------


def outbox_states(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            return [row[0] for row in db.execute("SELECT state FROM outbox")]
    except sqlite3.OperationalError:
        return []  # the schema is not there yet


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def test_scan_crm_offline_then_back(tmp_path: Path, kiosk_env: dict[str, str]) -> None:
    crm = start_crm_process(tmp_path / "crm.sqlite3")
    crm_url = crm.url
    crm.stop()
    folder = tmp_path / "camera"
    folder.mkdir()
    write_qr_png(ANA_V1, folder / "01.png")
    config = tmp_path / "config.toml"
    config.write_text(FAST_RETRY_CONFIG, encoding="utf-8")
    db_path = tmp_path / "kiosk.sqlite3"

    scan = subprocess.Popen(
        scan_command(folder, db_path, crm_url, config),
        cwd=REPO_ROOT,
        env=kiosk_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: "retry_wait" in outbox_states(db_path),
            60,
            "a lead waiting to retry",
        )
        crm.restart()
        assert crm.url == crm_url
        _, stderr = scan.communicate(timeout=SCAN_TIMEOUT_S)
        assert scan.returncode == 0, stderr
        contacts = crm_contacts(crm_url)
        assert [c["acme_email"].casefold() for c in contacts] == [
            "ana.lopez@example.com"
        ]
        assert crm.stats()["created"] == 1
        assert outbox_states(db_path) == ["synced"]
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.communicate(timeout=30)
        crm.stop()


# -- photographs of real codes ----------------------------------------


def corpus_folder(shared_dir: Path, tmp_path: Path) -> Path:
    """Copy the corpus images into one folder, prefixed with their folder's name."""
    folder = tmp_path / "camera"
    folder.mkdir()
    for name in CORPUS_FOLDERS:
        source = shared_dir / "corpus" / "zxing-samples" / name
        if not source.is_dir():
            pytest.skip(f"corpus folder {source} is absent")
        for image in sorted(source.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                shutil.copy(image, folder / f"{name}_{image.name}")
    return folder


def corpus_emails(shared_dir: Path) -> set[str]:
    """Return the case-folded emails of every corpus code that parses to a contact."""
    from kiosk.contacts import parse

    emails = set()
    for name in CORPUS_FOLDERS:
        for text_file in (shared_dir / "corpus" / "zxing-samples" / name).glob("*.txt"):
            with text_file.open(encoding="utf-8", newline="") as handle:
                text = handle.read()
            try:
                contact = parse(text)
            except PayloadRejected:
                continue
            if contact.email:
                emails.add(contact.dedup_key)
    return emails


def test_scan_corpus_photographs(
    shared_dir: Path, tmp_path: Path, crm: CrmProcess, kiosk_env: dict[str, str]
) -> None:
    folder = corpus_folder(shared_dir, tmp_path)
    db_path = tmp_path / "kiosk.sqlite3"

    result = run_scan(folder, db_path, crm.url, kiosk_env)

    leads = assert_scan_outcome(result, db_path, crm.url)
    scanned_emails = {lead["email"].casefold() for lead in leads if lead["email"]}
    assert scanned_emails, "no contact with an email was decoded from the corpus"
    assert scanned_emails <= corpus_emails(shared_dir)
    assert crm.stats()["created"] == len(scanned_emails)
