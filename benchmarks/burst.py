"""Benchmark the 100-scan burst: ``kiosk burst --headless --json``, a few repetitions.

Each repetition is a fresh ``kiosk burst`` subprocess on a temporary database, against
the embedded AcmeCRM server. The script prints each run's figures, the median of each
figure and whether the targets hold: every lead saved within 1 s and synced within 3 s
of the first frame entering the decoder. Rendering the badges happens before that clock
starts and is reported apart.

``--windowed`` also runs the GUI burst under Xvfb (``xvfb-run``) and reports the largest
GUI-thread stall, as measured by the burst window's timer heartbeat. That run expects
``kiosk burst --count N --json`` without ``--headless`` to print the same JSON object
with ``gui_stall_ms_max`` filled in.

Usage::

    python benchmarks/burst.py [--count 100] [--repeat 3] [--compare] [--windowed]
        [--check]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_SAVED_S = 1.0
TARGET_SYNCED_S = 3.0
RUN_TIMEOUT_S = 600
FIGURES = (
    "saved",
    "synced",
    "seconds_rendering",
    "seconds_to_all_saved",
    "seconds_to_all_synced",
    "save_latency_ms_p50",
    "save_latency_ms_p95",
    "scan_to_save_ms_p50",
    "scan_to_save_ms_p95",
    "gui_stall_ms_max",
)


def headless_command(count: int, *extra: str) -> list[str]:
    """Return the command of one headless burst."""
    return [
        sys.executable, "-m", "kiosk", "burst",
        "--count", str(count), "--headless", "--json", *extra,
    ]  # fmt: skip


def windowed_command(count: int) -> list[str]:
    """Return the command of one windowed burst under a virtual X server."""
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        raise RuntimeError("xvfb-run is not installed; install the xvfb package.")
    return [
        xvfb_run, "-a", "-s", "-screen 0 1920x1080x24",
        sys.executable, "-m", "kiosk", "burst", "--count", str(count), "--json",
    ]  # fmt: skip


def run_once(command: Sequence[str]) -> dict[str, Any]:
    """Run one burst subprocess and return its JSON figures.

    Raises:
        RuntimeError: the command failed or printed something other than one object.
    """
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    try:
        figures: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"{' '.join(command)} exited with status {result.returncode} and printed "
            f"no JSON object; its stderr ends with:\n{result.stderr[-2000:]}"
        ) from exc
    figures["exit_status"] = result.returncode
    return figures


def median(runs: Sequence[dict[str, Any]], name: str) -> float | None:
    values = [run[name] for run in runs if isinstance(run.get(name), int | float)]
    return statistics.median(values) if values else None


def meets_targets(run: dict[str, Any]) -> bool:
    """Were all leads saved and synced within the target times?"""
    saved_s = run.get("seconds_to_all_saved")
    synced_s = run.get("seconds_to_all_synced")
    return (
        run.get("saved") == run.get("count")
        and run.get("synced") == run.get("count")
        and saved_s is not None
        and synced_s is not None
        and saved_s <= TARGET_SAVED_S
        and synced_s <= TARGET_SYNCED_S
    )


def print_table(title: str, runs: Sequence[dict[str, Any]]) -> None:
    print(f"\n{title}")
    header = ["figure"] + [f"run {i + 1}" for i in range(len(runs))] + ["median"]
    print(" | ".join(header))
    for name in FIGURES:
        cells = [name] + [_cell(run.get(name)) for run in runs]
        cells.append(_cell(median(runs, name)))
        print(" | ".join(cells))
    for index, run in enumerate(runs, start=1):
        verdict = "meets" if meets_targets(run) else "misses"
        errors = len(run.get("errors", []))
        print(
            f"run {index}: {verdict} the targets (saved <= {TARGET_SAVED_S} s, "
            f"synced <= {TARGET_SYNCED_S} s); {errors} errors; "
            f"exit status {run['exit_status']}"
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="scans a burst")
    parser.add_argument("--repeat", type=int, default=3, help="headless repetitions")
    parser.add_argument(
        "--windowed", action="store_true", help="also run one GUI burst under Xvfb"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run --no-group-commit bursts, interleaved with the default ones",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when a headless run misses the targets",
    )
    args = parser.parse_args(argv)

    headless: list[dict[str, Any]] = []
    separate: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        headless.append(run_once(headless_command(args.count)))
        if args.compare:
            separate.append(run_once(headless_command(args.count, "--no-group-commit")))
    print(f"command: {' '.join(headless_command(args.count)[1:])}")
    print_table(f"headless burst of {args.count}, {args.repeat} runs", headless)
    if args.compare:
        print_table(
            "the same with --no-group-commit (one transaction a lead)", separate
        )
    if args.windowed:
        windowed = [run_once(windowed_command(args.count))]
        print_table(f"windowed burst of {args.count} under Xvfb", windowed)
    if args.check and not all(meets_targets(run) for run in headless):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
