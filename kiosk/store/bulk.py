"""Fill a database with many synthetic leads fast, for scale benchmarks and demos.

The rows are what :meth:`kiosk.store.LeadStore.save_lead` would write (a lead and its
outbox row each), but inserted with one multi-row statement per table and batch, and
with spread-out capture times and sync states so lists and filters have work to do.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from kiosk.store import fields as lead_fields
from kiosk.store.batch import lead_columns
from kiosk.store.leads import LeadStore
from kiosk.store.models import Lead
from sync_daemon import outbox
from sync_daemon.db import utcnow

FIRST_NAMES = (
    "Ana", "Björn", "Chloé", "Dmitri", "Élodie", "Farah", "Günter", "Hiroshi", "Inès",
    "José", "Kateřina", "Liam", "Maëlle", "Nikolaj", "Oğuz", "Priya", "Quentin",
    "Renée", "Søren", "Thảo", "Ulrike", "Valentín", "Wiktoria", "Xiadani", "Yusuf",
    "Zoë",
)  # fmt: skip
LAST_NAMES = (
    "Álvarez", "Bergström", "Castro", "Dubois", "Eriksen", "Fischer", "García",
    "Hoffmann", "Ivanova", "Jovanović", "Kowalski", "Lefèvre", "Müller", "Nakamura",
    "O'Brien", "Petrović", "Quispe", "Rossi", "Schäfer", "Tanaka", "Usman", "Vargas",
    "Wójcik", "Xu", "Yilmaz", "Zimmermann",
)  # fmt: skip
COMPANIES = (
    "Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries", "Wayne Tech",
    "Hooli", "Vandelay Import", "Soylent", "Tyrell Systems", "Cyberdyne", "Wonka Foods",
)  # fmt: skip
# The synthetic leads share this dict's empty lists and dicts. That is safe because
# they are only serialised, never changed.
_EMPTY_FIELDS = lead_fields.empty_fields()
# Sync states of the filled leads, by weight: most synced, some waiting or stuck.
STATE_WEIGHTS = (
    (outbox.SYNCED, 90),
    (outbox.PENDING, 5),
    (outbox.RETRY_WAIT, 3),
    (outbox.NEEDS_ATTENTION, 2),
)


def fill_synthetic_leads(
    store: LeadStore, count: int, *, seed: int = 0, batch_size: int = 5000
) -> int:
    """Insert ``count`` synthetic leads with outbox rows; return how many were added.

    Emails are unique across calls (they carry a random run tag), names repeat.
    """
    rng = random.Random(seed)
    run_tag = uuid.uuid4().hex[:8]
    start = utcnow() - timedelta(days=3)
    added = 0
    while added < count:
        size = min(batch_size, count - added)
        leads, rows = [], []
        for index in range(added, added + size):
            lead, row = _synthetic_lead(rng, run_tag, index, start)
            leads.append(lead)
            rows.append(row)
        with store.engine.begin() as connection:
            connection.execute(insert(Lead), leads)
            connection.execute(insert(outbox.outbox_table), rows)
        added += size
    return added


def _synthetic_lead(
    rng: random.Random, run_tag: str, index: int, start: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    email = f"{_ascii(first)}.{_ascii(last)}.{run_tag}{index}@example.com".lower()
    fields = {
        **_EMPTY_FIELDS,
        "first_name": first,
        "last_name": last,
        "email": email,
        "company": rng.choice(COMPANIES),
        "phone": f"+1201555{index % 10000:04d}",
        "title": "Engineer",
        "badge_id": f"B{run_tag}{index}",
        "source_format": "vcard",
        "rating": rng.choice(lead_fields.RATINGS),
    }
    captured_at = start + timedelta(seconds=index * 2 + rng.random())
    lead_id = str(uuid.uuid4())
    lead = {
        "id": lead_id,
        "revision": 1,
        "captured_at": captured_at,
        "updated_at": captured_at,
        "payload_key": "",
        **lead_columns(fields),
    }
    return lead, _outbox_row(rng, lead_id, fields, captured_at)


def _outbox_row(
    rng: random.Random, lead_id: str, fields: dict[str, Any], captured_at: datetime
) -> dict[str, Any]:
    states = [state for state, _ in STATE_WEIGHTS]
    weights = [weight for _, weight in STATE_WEIGHTS]
    state = rng.choices(states, weights)[0]
    synced = state == outbox.SYNCED
    errors = {
        outbox.RETRY_WAIT: "CRM unreachable: connection refused",
        outbox.NEEDS_ATTENTION: "acme_email: is not a valid email",
    }
    return {
        "lead_id": lead_id,
        "revision": 1,
        "idempotency_key": outbox.idempotency_key(lead_id, 1),
        "snapshot": json.dumps(fields, sort_keys=True, ensure_ascii=False),
        "state": state,
        "attempt": 1 if state != outbox.PENDING else 0,
        "lease_until": None,
        "lease_token": None,
        "next_attempt_at": captured_at if state == outbox.RETRY_WAIT else None,
        "last_error": errors.get(state, ""),
        "crm_id": f"acme-{lead_id[:12]}" if synced else None,
        "created_at": captured_at,
        "updated_at": captured_at,
        "synced_at": captured_at + timedelta(seconds=1) if synced else None,
    }


def _ascii(name: str) -> str:
    return "".join(char for char in name if char.isascii() and char.isalpha())
