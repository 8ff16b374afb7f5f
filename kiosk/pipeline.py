"""From a decoded QR code to a saved lead: parse, merge with a returning visitor, save.

``kiosk scan --auto-save`` and the burst save every accepted code through
:class:`LeadPipeline`. The same visitor yields one lead: a new scan is matched to an
existing lead by case-folded email, else by badge id, else by payload text. A match
that brings new information saves a new revision of that lead; an identical one saves
nothing.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.contacts.model import Contact, PayloadRejected

if TYPE_CHECKING:
    from kiosk.capture.types import DecodedCode
    from kiosk.config import Config
    from kiosk.store import LeadStore, LeadSummary, SavedLead

log = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REJECTED = "rejected"

# The max number of save requests that one group-commit transaction takes.
MAX_GROUP_SIZE = 100
_WRITER_JOIN_S = 30.0

# Values that mean "absent" in a lead's fields; a scan never writes them over a value.
_EMPTY_VALUES: tuple[Any, ...] = ("", None, (), [], {})


class SavesLeads(Protocol):
    """The part of :class:`kiosk.runtime.Runtime` that the pipeline uses."""

    config: Config
    store: LeadStore

    def save_lead(
        self,
        fields: Mapping[str, Any],
        lead_id: str | None = None,
        *,
        payload_text: str = "",
        record_metric: bool = True,
    ) -> SavedLead: ...

    def save_leads(
        self,
        leads: Sequence[tuple[Mapping[str, Any], str]],
        *,
        record_metric: bool = True,
    ) -> list[SavedLead]: ...


@dataclass(frozen=True)
class ScanOutcome:
    """The outcome of one accepted code.

    Attributes:
        status: ``created``, ``updated`` (a new revision), ``unchanged`` (a returning
            visitor with nothing new) or ``rejected`` (not a contact).
        lead_id: the lead created or matched; ``""`` when rejected.
        revision: the lead's revision after this scan; 0 when rejected.
        has_email: does the contact carry an email (AcmeCRM requires one)?
        reject_code: the parser's error code when rejected, else ``""``.
        reject_message: the parser's message for the operator when rejected.
        save_ms: milliseconds from the save request to its durable commit (waiting
            for other saves included), or ``None`` when nothing was saved.
    """

    status: str
    lead_id: str = ""
    revision: int = 0
    has_email: bool = False
    reject_code: str = ""
    reject_message: str = ""
    save_ms: float | None = None


class LeadPipeline:
    """Parse accepted codes and save each visitor as one lead.

    Safe to call from several threads: the duplicate look-up and the save run under one
    lock (or in the one group-commit writer thread), so two scans of the same visitor
    cannot both create a lead.
    """

    def __init__(
        self,
        runtime: SavesLeads,
        *,
        record_metric: bool = True,
        group_commit: bool = False,
    ) -> None:
        """Build a pipeline that saves through ``runtime.save_lead``.

        Args:
            runtime: the :class:`kiosk.runtime.Runtime` (or anything with ``config``,
                ``store``, ``save_lead`` and ``save_leads``).
            record_metric: record each save's latency as a metric when saving.
            group_commit: save through one writer thread that commits the new leads
                of concurrent callers in one transaction; call :meth:`close` after.
        """
        self._runtime = runtime
        self._record_metric = record_metric
        self._lock = threading.Lock()
        self._writer = _GroupWriter(self) if group_commit else None

    def parse_code(self, code: DecodedCode) -> Contact:
        """Parse a decoded code into a contact draft.

        Raises:
            PayloadRejected: the code contains no contact.
        """
        from kiosk.contacts import parse

        payload: str | bytes = code.text if code.text else code.raw
        return parse(payload, self._runtime.config)

    def handle_code(self, code: DecodedCode) -> ScanOutcome:
        """Parse one accepted code and save it, merged with an earlier scan if any."""
        try:
            contact = self.parse_code(code)
        except PayloadRejected as exc:
            return ScanOutcome(
                REJECTED, reject_code=exc.code, reject_message=exc.message
            )
        payload_text = code.text or code.raw.decode("utf-8", "replace")
        return self.save_contact(contact, payload_text)

    def save_contact(self, contact: Contact, payload_text: str = "") -> ScanOutcome:
        """Save a contact as a new lead, or merge it into the same visitor's lead."""
        request = _SaveRequest(
            fields=self.fields_for(contact),
            payload_text=payload_text,
            email_key=contact.dedup_key,
            badge_id=contact.badge_id.strip(),
        )
        if self._writer is not None:
            return self._writer.submit(request)
        with self._lock:
            duplicate = self._find_duplicate(request)
            if duplicate is None:
                saved = self._save(request.fields, None, payload_text)
                return request.outcome_for(CREATED, saved)
            return self._merge(request, duplicate)

    def fields_for(self, contact: Contact) -> dict[str, Any]:
        """Return the lead fields of a new scan: the contact's, plus the event."""
        from kiosk.store import lead_fields_from_contact

        fields = dict(lead_fields_from_contact(contact))
        event = self._runtime.config.kiosk.event
        if event and not fields.get("event"):
            fields["event"] = event
        return fields

    def close(self) -> None:
        """Stop the group-commit writer thread, if any, after its pending saves."""
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> LeadPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _find_duplicate(self, request: _SaveRequest) -> LeadSummary | None:
        return self._runtime.store.find_duplicate(
            email=request.email_key,
            badge_id=request.badge_id,
            payload_text=request.payload_text,
        )

    def _merge(self, request: _SaveRequest, duplicate: LeadSummary) -> ScanOutcome:
        existing = self._runtime.store.get_lead(duplicate.lead_id)
        merged = merge_fields(existing.fields, request.fields)
        if merged == dict(existing.fields):
            log.debug("Lead %s scanned again with nothing new", duplicate.lead_id)
            return ScanOutcome(
                UNCHANGED, duplicate.lead_id, existing.revision, request.has_email
            )
        saved = self._save(merged, duplicate.lead_id, request.payload_text)
        return request.outcome_for(UPDATED, saved)

    def _save(
        self, fields: Mapping[str, Any], lead_id: str | None, payload_text: str
    ) -> SavedLead:
        return self._runtime.save_lead(
            fields,
            lead_id,
            payload_text=payload_text,
            record_metric=self._record_metric,
        )

    def _create_many(self, requests: Sequence[_SaveRequest]) -> list[SavedLead]:
        return self._runtime.save_leads(
            [(request.fields, request.payload_text) for request in requests],
            record_metric=self._record_metric,
        )


@dataclass
class _SaveRequest:
    """One contact waiting to be saved, with the keys that find the same visitor."""

    fields: dict[str, Any]
    payload_text: str
    email_key: str
    badge_id: str
    submitted: float = field(default_factory=time.perf_counter)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: ScanOutcome | None = None
    error: Exception | None = None

    @property
    def has_email(self) -> bool:
        return bool(self.fields.get("email"))

    def visitor_keys(self) -> set[tuple[str, str]]:
        keys = {
            ("email", self.email_key),
            ("badge_id", self.badge_id),
            ("payload", self.payload_text),
        }
        return {key for key in keys if key[1]}

    def outcome_for(self, status: str, saved: SavedLead) -> ScanOutcome:
        save_ms = (time.perf_counter() - self.submitted) * 1000.0
        return ScanOutcome(
            status, saved.lead_id, saved.revision, self.has_email, save_ms=save_ms
        )


class _GroupWriter:
    """A thread that saves the requests of several callers in shared transactions.

    Each caller still returns only after its own lead is committed; callers that arrive
    while a commit runs share the next one, so a burst pays for fewer disk syncs.
    """

    def __init__(self, pipeline: LeadPipeline) -> None:
        self._pipeline = pipeline
        self._queue: queue.Queue[_SaveRequest | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, name="lead-writer", daemon=True
        )
        self._thread.start()

    def submit(self, request: _SaveRequest) -> ScanOutcome:
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.outcome is not None
        return request.outcome

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(_WRITER_JOIN_S)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_GROUP_SIZE:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop once this batch is written
                    break
                batch.append(item)
            while batch:
                batch = self._write_group(batch)

    def _write_group(self, batch: list[_SaveRequest]) -> list[_SaveRequest]:
        """Save one group; return the requests deferred to the next group.

        A request whose visitor keys match an earlier request of the same group waits
        for the next group, so it finds that lead and merges into it.
        """
        deferred: list[_SaveRequest] = []
        new: list[_SaveRequest] = []
        seen: set[tuple[str, str]] = set()
        for request in batch:
            keys = request.visitor_keys()
            if keys & seen:
                deferred.append(request)
                continue
            seen |= keys
            try:
                duplicate = self._pipeline._find_duplicate(request)
                if duplicate is None:
                    new.append(request)
                    continue
                request.outcome = self._pipeline._merge(request, duplicate)
            except Exception as exc:  # handed to the waiting caller, which raises it
                request.error = exc
            request.done.set()
        if new:
            self._create(new)
        return deferred

    def _create(self, requests: list[_SaveRequest]) -> None:
        try:
            saved = self._pipeline._create_many(requests)
            for request, lead in zip(requests, saved, strict=True):
                request.outcome = request.outcome_for(CREATED, lead)
        except Exception as exc:  # handed to every waiting caller, which raises it
            for request in requests:
                request.error = exc
        finally:
            for request in requests:
                request.done.set()


def merge_fields(
    existing: Mapping[str, Any], scanned: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge a new scan into a lead's fields.

    A non-empty scanned value replaces the stored one, so the latest card wins. An empty
    scanned value never clears a stored one, so the operator's rating, notes, consent
    and ``answers`` field survive a re-scan.
    """
    merged = dict(existing)
    # Stored snapshots went through JSON (tuples came back as lists), so compare the
    # scan in the same form.
    normalized = json.loads(json.dumps(dict(scanned), default=str))
    for name, value in normalized.items():
        if value in _EMPTY_VALUES:
            continue
        if merged.get(name) != value:
            merged[name] = value
    return merged
