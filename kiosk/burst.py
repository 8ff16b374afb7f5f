"""The scan burst: many visitors at once through the real decode, parse and save path.

:func:`prepare_burst` generates distinct attendees (accented names, several payload
formats, unique in every run) and renders each badge as a QR code in a camera-like
frame. Rendering happens before the clock starts and is reported apart.
:func:`run_burst` then pushes every frame concurrently through
``DecoderChain.decode_live``, the payload parser and
:class:`kiosk.pipeline.LeadPipeline` while the sync engine runs. It measures the time to
all saved and to all synced from the moment the first frame enters the decoder.

The core is plain Python: ``kiosk burst --headless`` calls it directly, and the GUI's
burst dialog runs it in a worker thread.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.pipeline import CREATED, LeadPipeline

if TYPE_CHECKING:
    from kiosk.capture.types import Image
    from kiosk.runtime import Runtime

log = logging.getLogger(__name__)

FIRST_NAMES = (
    "José", "Zoë", "François", "Søren", "Renée", "Björn", "Inês", "Çağla", "Łukasz",
    "Ángel", "Noël", "Jürgen", "Anaïs", "Håkon", "Míša", "Gaëlle", "Ömer", "Dóra",
)  # fmt: skip
LAST_NAMES = (
    "Gómez", "Müller", "Nørgaard", "Brontë", "Dvořák", "Ødegaard", "Çelik", "Lefèvre",
    "Wróbel", "Szabó", "Peña", "Håland", "Łęcki", "Göransson", "Núñez", "Kovačević",
)  # fmt: skip
COMPANIES = (
    "Société Générale d'Études", "Müller & Söhne GmbH", "Café Olé Ltd", "Łódź Systems",
    "Nordlys AS", "Atelier Brûlé", "Peña Ingeniería", "Ørsted Labs",
)  # fmt: skip
TITLES = ("Directrice technique", "Ingénieur", "Head of Procurement", "CTO", "Analyst")
PAYLOAD_FORMATS = ("vcard", "mecard", "bizcard", "json")

_SYNC_POLL_S = 0.01

# Decode-and-save threads. Measured with `kiosk burst --count 100 --headless` on 2 busy
# cores: 4 threads saved all 100 in 0.69 to 0.74 s, 2 threads in 1.04 to 1.37 s, because
# threads waiting on a disk sync leave the interpreter lock to the decoding ones.
DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class Attendee:
    """A simulated visitor and the QR payload on their badge."""

    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    title: str
    payload_format: str
    payload: str


@dataclass(frozen=True)
class PreparedBurst:
    """Attendees with their rendered frames, ready for :func:`run_burst`."""

    attendees: tuple[Attendee, ...]
    frames: tuple[Image, ...]
    seconds_rendering: float


@dataclass(frozen=True)
class BurstProgress:
    """A progress report; ``message`` is a log line without personal data, or ``""``.

    ``is_error`` marks a message about a frame that was not saved.
    """

    total: int
    decoded: int
    saved: int
    synced: int
    errors: int
    elapsed_s: float
    message: str = ""
    is_error: bool = False


@dataclass(frozen=True)
class BurstResult:
    """The burst's outcome and timings.

    Times are in seconds from the first frame entering the decoder; a time is ``None``
    when that point was not reached (some frame failed, or the sync timed out).
    Latencies are in milliseconds: ``save_latency`` is the durable save alone,
    ``scan_to_save`` runs from a frame entering the decoder to its lead being saved.
    ``gui_stall_ms_max`` is the GUI thread's longest stall during the timed run and
    ``gui_stall_ms_rendering`` its longest stall while the badges were rendered; both
    are ``None`` when headless.
    """

    count: int
    saved: int
    synced: int
    seconds_to_all_saved: float | None
    seconds_to_all_synced: float | None
    seconds_rendering: float
    save_latency_ms_p50: float | None
    save_latency_ms_p95: float | None
    scan_to_save_ms_p50: float | None
    scan_to_save_ms_p95: float | None
    errors: tuple[str, ...] = ()
    gui_stall_ms_max: float | None = None
    gui_stall_ms_rendering: float | None = None
    lead_ids: tuple[str, ...] = field(default=(), repr=False)

    def to_json_dict(self) -> dict[str, Any]:
        """Return the figures as ``kiosk burst --json`` prints them (no lead ids)."""
        result = asdict(self)
        del result["lead_ids"]
        result["errors"] = list(self.errors)
        for name, value in result.items():
            if isinstance(value, float):
                result[name] = round(value, 4)
        return result


ProgressCallback = Callable[[BurstProgress], None]


# -- attendees and frames ------------------------------------------------------


def generate_attendees(count: int, *, run_id: str | None = None) -> list[Attendee]:
    """Generate ``count`` distinct attendees, cycling through the payload formats.

    Emails carry ``run_id`` (random by default) and the index, so no two runs produce
    the same visitor and a burst on an existing database never merges into older leads.
    """
    if count < 1:
        raise ValueError(f"The burst needs at least one attendee, got {count}.")
    run = run_id or secrets.token_hex(3)
    attendees = []
    for index in range(count):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[(index // len(FIRST_NAMES) + index) % len(LAST_NAMES)]
        email = f"{_ascii(first)}.{_ascii(last)}.{run}{index:04d}@example.com".lower()
        person = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": f"+1 201 555 {100 + index % 100:04d}",
            "company": COMPANIES[index % len(COMPANIES)],
            "title": TITLES[index % len(TITLES)],
        }
        payload_format = PAYLOAD_FORMATS[index % len(PAYLOAD_FORMATS)]
        badge_id = f"BURST-{run}-{index:04d}"
        payload = _PAYLOAD_BUILDERS[payload_format]({**person, "badge_id": badge_id})
        attendees.append(
            Attendee(**person, payload_format=payload_format, payload=payload)
        )
    return attendees


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    plain = decomposed.replace("ł", "l").replace("Ł", "L")
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum())


def _vcard(p: dict[str, str]) -> str:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{p['last_name']};{p['first_name']};;;",
        f"FN:{p['first_name']} {p['last_name']}",
        f"ORG:{_vcard_escape(p['company'])}",
        f"TITLE:{p['title']}",
        f"TEL;TYPE=WORK:{p['phone']}",
        f"EMAIL;TYPE=INTERNET:{p['email']}",
        "END:VCARD",
    ]
    return "\r\n".join(lines)


def _vcard_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def _mecard(p: dict[str, str]) -> str:
    return (
        f"MECARD:N:{p['last_name']},{p['first_name']};ORG:{_me_escape(p['company'])};"
        f"TEL:{p['phone']};EMAIL:{p['email']};;"
    )


def _me_escape(value: str) -> str:
    for char in "\\;,:":
        value = value.replace(char, "\\" + char)
    return value


def _bizcard(p: dict[str, str]) -> str:
    return (
        f"BIZCARD:N:{p['first_name']};X:{p['last_name']};T:{_me_escape(p['title'])};"
        f"C:{_me_escape(p['company'])};B:{p['phone']};E:{p['email']};;"
    )


def _json_badge(p: dict[str, str]) -> str:
    # An event badge as registration systems print it. Plain text would lose the
    # name, because the parser takes only an email and a phone from plain text.
    badge = {
        "attendee_id": p["badge_id"],
        "first_name": p["first_name"],
        "last_name": p["last_name"],
        "email": p["email"],
        "phone": p["phone"],
        "company": p["company"],
        "job_title": p["title"],
    }
    return json.dumps(badge, ensure_ascii=False)


_PAYLOAD_BUILDERS: dict[str, Callable[[dict[str, str]], str]] = {
    "vcard": _vcard,
    "mecard": _mecard,
    "bizcard": _bizcard,
    "json": _json_badge,
}


def prepare_burst(
    count: int,
    *,
    run_id: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> PreparedBurst:
    """Generate ``count`` attendees and render each badge in a camera-like frame."""
    from kiosk.capture.render import render_badge_frame

    attendees = generate_attendees(count, run_id=run_id)
    started = time.perf_counter()
    frames = []
    for index, attendee in enumerate(attendees):
        frames.append(render_badge_frame(attendee.payload, seed=index))
        if on_progress is not None:
            on_progress(BurstProgress(count, 0, 0, 0, 0, time.perf_counter() - started))
    seconds = time.perf_counter() - started
    log.info("Rendered %d badge frames in %.2f s", count, seconds)
    return PreparedBurst(tuple(attendees), tuple(frames), seconds)


# -- the timed run -------------------------------------------------------------


@dataclass
class _Tally:
    """Counts and latencies shared by the worker threads, guarded by ``lock``."""

    total: int
    started: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    decoded: int = 0
    saved: int = 0
    synced: int = 0
    last_save_at: float = 0.0
    save_ms: list[float] = field(default_factory=list)
    scan_to_save_ms: list[float] = field(default_factory=list)
    lead_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def progress(self, message: str = "", is_error: bool = False) -> BurstProgress:
        return BurstProgress(
            self.total,
            self.decoded,
            self.saved,
            self.synced,
            len(self.errors),
            time.perf_counter() - self.started,
            message,
            is_error,
        )


def run_burst(
    runtime: Runtime,
    prepared: PreparedBurst,
    *,
    workers: int = DEFAULT_WORKERS,
    sync_timeout_s: float = 60.0,
    on_progress: ProgressCallback | None = None,
    group_commit: bool = True,
) -> BurstResult:
    """Push every prepared frame through decode, parse and save, then await the sync.

    The caller keeps the sync engine running meanwhile (``runtime.start_sync_thread()``
    headless, the GUI's sync worker in the window). ``on_progress`` is called from
    worker threads.

    Args:
        runtime: the kiosk runtime whose store and engine the burst uses.
        prepared: the output of :func:`prepare_burst`.
        workers: threads decoding and saving at once.
        sync_timeout_s: how long to wait for every lead to be synced.
        on_progress: receives a :class:`BurstProgress` after each frame and sync step.
        group_commit: let saves that arrive together share one transaction (see
            :class:`kiosk.pipeline.LeadPipeline`); False commits each lead alone.
    """
    chains = threading.local()
    with LeadPipeline(
        runtime, record_metric=False, group_commit=group_commit
    ) as pipeline:
        tally = _Tally(total=len(prepared.frames), started=time.perf_counter())

        def process(index: int) -> None:
            _process_frame(
                index, prepared.frames[index], pipeline, chains, tally, on_progress
            )

        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="burst"
        ) as pool:
            list(pool.map(process, range(len(prepared.frames))))
    _check_saved_leads(runtime, tally)
    seconds_saved = _seconds_to_all_saved(tally)
    seconds_synced = _await_sync(runtime, tally, sync_timeout_s, on_progress)
    for value in tally.save_ms:
        runtime.record_metric("save_commit", value)
    return _result(prepared, tally, seconds_saved, seconds_synced)


def _process_frame(
    index: int,
    image: Image,
    pipeline: LeadPipeline,
    chains: threading.local,
    tally: _Tally,
    on_progress: ProgressCallback | None,
) -> None:
    entered = time.perf_counter()
    try:
        message, is_error = _decode_and_save(
            index, image, pipeline, chains, tally, entered
        )
    except Exception as exc:  # a failed frame is reported, the burst goes on
        log.exception("Burst frame %d failed", index)
        message, is_error = _error(tally, f"frame {index}: failed ({exc})")
    if on_progress is not None:
        with tally.lock:
            progress = tally.progress(message, is_error)
        on_progress(progress)


def _decode_and_save(
    index: int,
    image: Image,
    pipeline: LeadPipeline,
    chains: threading.local,
    tally: _Tally,
    entered: float,
) -> tuple[str, bool]:
    """Decode, parse and save one frame; return a log line and an is-error flag."""
    chain = getattr(chains, "chain", None)
    if chain is None:
        from kiosk.capture.decoders import DecoderChain

        chain = chains.chain = DecoderChain()
    # A live camera would get more frames of a code it missed, but each burst
    # visitor has one frame, so a miss gets the whole decoder chain before it counts.
    codes = chain.decode_live(image) or chain.decode_still(image)
    if not codes:
        return _error(tally, f"frame {index}: no QR code decoded")
    with tally.lock:
        tally.decoded += 1
    outcome = pipeline.handle_code(codes[0])
    if outcome.status != CREATED:
        # Every burst visitor is distinct, so a scan merged into an existing lead
        # ("updated" or "unchanged") means two visitors became one lead.
        detail = outcome.reject_code or outcome.status
        lead = f", lead {outcome.lead_id}" if outcome.lead_id else ""
        return _error(tally, f"frame {index}: not saved as a new lead ({detail}{lead})")
    done = time.perf_counter()
    with tally.lock:
        tally.saved += 1
        tally.last_save_at = max(tally.last_save_at, done)
        tally.lead_ids.append(outcome.lead_id)
        if outcome.save_ms is not None:
            tally.save_ms.append(outcome.save_ms)
        tally.scan_to_save_ms.append((done - entered) * 1000.0)
    return f"frame {index}: saved lead {outcome.lead_id}", False


def _error(tally: _Tally, message: str) -> tuple[str, bool]:
    with tally.lock:
        tally.errors.append(message)
    return message, True


def _check_saved_leads(runtime: Runtime, tally: _Tally) -> None:
    """Report frames left unaccounted for and saved leads missing from the database.

    Each frame must end either saved or in the error list, and each saved lead must
    have an outbox row.
    """
    from sync_daemon.outbox import Outbox

    unaccounted = tally.total - tally.saved - len(tally.errors)
    if unaccounted > 0:
        tally.errors.append(f"{unaccounted} frames ended neither saved nor failed")
    stored = Outbox(_engine_of(runtime)).latest_state_by_lead(tally.lead_ids)
    for lead_id in tally.lead_ids:
        if lead_id not in stored:
            tally.errors.append(f"lead {lead_id}: saved but not found in the outbox")


def _seconds_to_all_saved(tally: _Tally) -> float | None:
    if tally.saved < tally.total:
        return None
    return tally.last_save_at - tally.started


def _await_sync(
    runtime: Runtime,
    tally: _Tally,
    timeout_s: float,
    on_progress: ProgressCallback | None,
) -> float | None:
    """Poll the outbox until every saved lead is synced; return seconds from start."""
    from sync_daemon.outbox import Outbox

    outbox = Outbox(_engine_of(runtime))
    lead_ids = list(tally.lead_ids)
    deadline = time.monotonic() + timeout_s
    while True:
        states = outbox.latest_state_by_lead(lead_ids)
        synced = sum(
            1 for lead_id in lead_ids if _state(states.get(lead_id)) == "synced"
        )
        now = time.perf_counter()
        if synced != tally.synced and on_progress is not None:
            tally.synced = synced
            on_progress(tally.progress())
        tally.synced = synced
        if synced == len(lead_ids):
            return now - tally.started if synced == tally.total else None
        if time.monotonic() >= deadline:
            _report_unsynced(lead_ids, states, tally)
            return None
        time.sleep(_SYNC_POLL_S)


def _state(value: Any) -> str:
    """Return the state name whether the outbox gives a string or a record."""
    if value is None:
        return ""
    return str(getattr(value, "state", value))


def _report_unsynced(lead_ids: Sequence[str], states: Any, tally: _Tally) -> None:
    for lead_id in lead_ids:
        state = _state(states.get(lead_id))
        if state != "synced":
            tally.errors.append(f"lead {lead_id}: not synced ({state or 'unknown'})")


def _engine_of(runtime: Runtime) -> Any:
    engine = getattr(runtime.store, "engine", None)
    return engine if engine is not None else runtime.db_url


def _result(
    prepared: PreparedBurst,
    tally: _Tally,
    seconds_saved: float | None,
    seconds_synced: float | None,
) -> BurstResult:
    return BurstResult(
        count=tally.total,
        saved=tally.saved,
        synced=tally.synced,
        seconds_to_all_saved=seconds_saved,
        seconds_to_all_synced=seconds_synced,
        seconds_rendering=prepared.seconds_rendering,
        save_latency_ms_p50=percentile(tally.save_ms, 50),
        save_latency_ms_p95=percentile(tally.save_ms, 95),
        scan_to_save_ms_p50=percentile(tally.scan_to_save_ms, 50),
        scan_to_save_ms_p95=percentile(tally.scan_to_save_ms, 95),
        errors=tuple(tally.errors),
        lead_ids=tuple(tally.lead_ids),
    )


def percentile(values: Sequence[float], rank: float) -> float | None:
    """Return the nearest-rank percentile of ``values``, or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = max(1, math.ceil(rank / 100.0 * len(ordered)))
    return ordered[position - 1]


def simulate_burst(
    runtime: Runtime,
    count: int = 100,
    *,
    workers: int = DEFAULT_WORKERS,
    sync_timeout_s: float = 60.0,
    on_progress: ProgressCallback | None = None,
    group_commit: bool = True,
) -> BurstResult:
    """Prepare and run a burst of ``count`` scans (see :func:`run_burst`)."""
    prepared = prepare_burst(count, on_progress=on_progress)
    return run_burst(
        runtime,
        prepared,
        workers=workers,
        sync_timeout_s=sync_timeout_s,
        on_progress=on_progress,
        group_commit=group_commit,
    )
