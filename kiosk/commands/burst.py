"""``kiosk burst``: simulate a rush of scans and time their saving and syncing.

Headless, the burst runs against the embedded AcmeCRM server on a temporary database
(unless ``--db``), prints progress to stderr and, with ``--json``, one JSON object alone
on stdout. Without ``--headless`` it opens the GUI burst window.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.burst import BurstResult

log = logging.getLogger(__name__)

MAX_COUNT = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kiosk burst``."""
    parser.add_argument(
        "--count",
        type=int,
        default=100,
        metavar="N",
        help=f"number of simulated visitors, 1 to {MAX_COUNT} (default 100)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run without a window against the embedded demo CRM",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: a temporary database)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="threads decoding and saving at once (default: 4 headless; in the "
        "window one a CPU core, at most 4)",
    )
    parser.add_argument(
        "--no-group-commit",
        dest="group_commit",
        action="store_false",
        help="commit each lead in its own transaction instead of letting saves that "
        "arrive together share one",
    )


def run(args: argparse.Namespace) -> int:
    """Run the burst; return 0 when every lead was saved and synced, else 1."""
    if not 1 <= args.count <= MAX_COUNT:
        raise KioskError(
            f"--count must be between 1 and {MAX_COUNT}, got {args.count}."
        )
    if args.workers is not None and args.workers < 1:
        raise KioskError(f"--workers must be at least 1, got {args.workers}.")
    if not args.headless:
        return _run_window(args)
    with tempfile.TemporaryDirectory(prefix="kiosk-burst-") as folder:
        result = _run_headless(args, Path(folder))
    if args.json:
        print(json.dumps(result.to_json_dict(), ensure_ascii=False), flush=True)
    else:
        _print_summary(result)
    complete = result.saved == result.count and result.synced == result.count
    return 0 if complete else 1


def _run_headless(args: argparse.Namespace, folder: Path) -> BurstResult:
    from kiosk.burst import DEFAULT_WORKERS, BurstProgress, prepare_burst, run_burst
    from kiosk.config import load_config
    from kiosk.runtime import Runtime

    config = load_config(None)
    # The headless burst always uses the embedded server, whatever the config names.
    config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, url=""))
    db_url = args.db or f"sqlite:///{folder / 'burst.sqlite3'}"

    def on_progress(progress: BurstProgress) -> None:
        if progress.is_error:
            print(f"kiosk burst: {progress.message}", file=sys.stderr)

    prepared = prepare_burst(args.count)
    print(
        f"kiosk burst: rendered {args.count} badges in "
        f"{prepared.seconds_rendering:.2f} s",
        file=sys.stderr,
    )
    with Runtime(config, db_url, crm_data_dir=folder / "crm") as runtime:
        runtime.start_sync_thread()
        return run_burst(
            runtime,
            prepared,
            workers=args.workers or DEFAULT_WORKERS,
            on_progress=on_progress,
            group_commit=args.group_commit,
        )


def _run_window(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module("kiosk.gui.burst_dialog")
    except ModuleNotFoundError as exc:
        if exc.name != "kiosk.gui.burst_dialog":
            raise
        raise KioskError(
            "The burst window is not available in this build. "
            "Run `kiosk burst --headless` instead."
        ) from exc
    status: int = module.run_burst_window(args)
    return status


def _print_summary(result: BurstResult) -> None:
    figures = result.to_json_dict()
    for name, value in figures.items():
        if name == "errors":
            continue
        print(f"{name}: {value}")
    for error in figures["errors"]:
        print(f"error: {error}")
