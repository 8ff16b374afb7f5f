"""``kiosk scan --auto-save``: capture without a window, save each new contact, sync.

The capture loop reads the camera in a thread; the main thread parses each accepted code
and saves it through :class:`kiosk.pipeline.LeadPipeline` (the same visitor becomes one
lead) while the sync thread pushes the outbox. Once the source has ended and nothing
sendable is left in the outbox, the command exits 0 when every lead is synced, 3 when
some need attention (listed on stderr by lead id and reason), and 1 when ``--timeout``
passes first or the camera source failed before its end (the leads saved until then
still sync first).
"""

from __future__ import annotations

import argparse
import logging
import math
import queue
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.capture.types import DecodedCode, FrameSource
    from kiosk.config import Config
    from kiosk.pipeline import LeadPipeline, ScanOutcome
    from kiosk.runtime import Runtime

log = logging.getLogger(__name__)

EXIT_SYNCED = 0
EXIT_TIMEOUT = 1
EXIT_NEEDS_ATTENTION = 3
EXIT_SOURCE_FAILED = 1

_QUEUE_POLL_S = 0.05
_CAPTURE_JOIN_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kiosk scan``."""
    parser.add_argument(
        "--camera",
        metavar="SPEC",
        required=True,
        help="webcam index, device path, video file, folder of images, or demo",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: user data folder)",
    )
    parser.add_argument(
        "--crm-url",
        metavar="URL",
        help="AcmeCRM base URL (default: start the demo CRM on a free loopback port)",
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "--auto-save",
        action="store_true",
        required=True,
        help="save each new contact without confirmation (required: the command has "
        "no window to confirm in)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=300.0,
        metavar="S",
        help="give up after S seconds with exit status 1 (default 300)",
    )


def positive_seconds(text: str) -> float:
    """Parse a ``--timeout`` value: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"invalid timeout {text!r}: expected a positive number of seconds"
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Scan until the source ends and the outbox settles; return the exit status."""
    from kiosk.capture.sources import open_source
    from kiosk.config import load_config
    from kiosk.pipeline import LeadPipeline
    from kiosk.runtime import Runtime

    deadline = time.monotonic() + args.timeout
    config = load_config(args.config)
    # A folder or a video file is read as fast as it decodes. Its frames keep their
    # media timestamps, so the debounce hold still counts in the recording's time.
    recorded = Path(args.camera).expanduser().exists() and not args.camera.startswith(
        "/dev/"
    )
    source = open_source(args.camera, config.capture, paced=not recorded)
    try:
        with Runtime(config, args.db, args.crm_url) as runtime:
            runtime.start_sync_thread()
            pipeline = LeadPipeline(runtime)
            finished, failure = _capture_and_save(source, pipeline, config, deadline)
            if not finished:
                _print_err(
                    f"Timed out after {args.timeout:g} s before the camera source "
                    "ended. Use a larger --timeout for a long source."
                )
                _report_waiting(runtime)
                return EXIT_TIMEOUT
            if failure is not None:
                _print_err(
                    f"The camera source failed before its end ({failure}). Leads "
                    "saved until then are kept; check the camera and scan again."
                )
            status = _await_outbox(runtime, deadline)
            if failure is not None and status == EXIT_SYNCED:
                return EXIT_SOURCE_FAILED
            return status
    finally:
        source.close()


def _capture_and_save(
    source: FrameSource, pipeline: LeadPipeline, config: Config, deadline: float
) -> tuple[bool, str | None]:
    """Run the capture loop and save what it accepts.

    Returns:
        False on timeout, else True; and why the source failed, or None.
    """
    from kiosk.capture.debounce import Debouncer
    from kiosk.capture.decoders import DecoderChain
    from kiosk.capture.loop import CaptureLoop

    accepted: queue.Queue[DecodedCode] = queue.Queue()
    stop = threading.Event()
    loop = CaptureLoop(
        source,
        DecoderChain(),
        Debouncer(hold_s=config.capture.debounce_s),
        on_frame=lambda frame, codes: None,
        on_accept=accepted.put,
        on_status=_on_status,
        mirror=False,
    )
    thread = threading.Thread(
        target=loop.run, args=(stop,), name="kiosk-capture", daemon=True
    )
    thread.start()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    try:
        while thread.is_alive() or not accepted.empty():
            if time.monotonic() >= deadline:
                return False, loop.failure
            try:
                code = accepted.get(timeout=_QUEUE_POLL_S)
            except queue.Empty:
                continue
            outcome = pipeline.handle_code(code)
            counts[outcome.status] += 1
            _report_outcome(outcome)
    finally:
        stop.set()
        thread.join(_CAPTURE_JOIN_S)
    log.info(
        "Source ended: %d new leads, %d updated, %d unchanged, %d codes not contacts",
        counts["created"],
        counts["updated"],
        counts["unchanged"],
        counts["rejected"],
    )
    return True, loop.failure


def _on_status(text: str) -> None:
    _print_err(text)


def _report_outcome(outcome: ScanOutcome) -> None:
    if outcome.status == "rejected":
        _print_err(f"Not a contact ({outcome.reject_code}): {outcome.reject_message}")
    elif outcome.status == "created":
        log.info("Saved new lead %s", outcome.lead_id)
    elif outcome.status == "updated":
        log.info("Saved revision %d of lead %s", outcome.revision, outcome.lead_id)
    else:
        log.info("Lead %s scanned again, nothing new", outcome.lead_id)


def _await_outbox(runtime: Runtime, deadline: float) -> int:
    """Wait for the outbox to settle, then report leads that need attention."""
    stats = runtime.wait_until_settled(deadline)
    if stats is None:
        _print_err(
            "Timed out with leads still waiting to sync. They stay saved and "
            "queued, and sync on the next run (kiosk, kiosk scan or kiosk-sync)."
        )
        _report_waiting(runtime)
        return EXIT_TIMEOUT
    if stats.needs_attention:
        _report_needs_attention(runtime)
        return EXIT_NEEDS_ATTENTION
    log.info("Every lead is synced (%d revisions synced in all)", stats.synced)
    return EXIT_SYNCED


def _report_needs_attention(runtime: Runtime) -> None:
    leads = runtime.store.list_leads(state="needs_attention", limit=10_000)
    _print_err(f"{len(leads)} lead(s) need attention:")
    for row in leads:
        reason = getattr(row, "last_error", "") or "no reason recorded"
        _print_err(f"  {row.lead_id}: {reason}")


def _report_waiting(runtime: Runtime) -> None:
    stats = runtime.queue_stats()
    _print_err(
        f"Outbox: {stats.pending} pending, {stats.in_flight} in flight, "
        f"{stats.retry_wait} waiting to retry, {stats.needs_attention} need attention, "
        f"{stats.synced} synced."
    )


def _print_err(text: str) -> None:
    print(f"kiosk scan: {text}", file=sys.stderr, flush=True)
