"""CSV import speed: 10,000 rows batched against one transaction a row.

Writes a CSV file of synthetic leads (accented names, formulas our export escapes), then
times, side by side in one run and each on a fresh SQLite database:

- ``import_csv``: rows saved 500 a transaction, each lead with its outbox row;
- ``import_csv`` of the same file again (every row merges, unchanged), then of a copy
  with one column changed on every row (every lead gets a new revision);
- the naive import: the same rows through ``LeadStore.save_lead``, one transaction
  (and one durable commit) a row, on ``--naive-rows`` rows;
- ``kiosk import`` as a subprocess, start-up included;
- ``kiosk export`` of the imported leads, for reference.

With ``--scale N`` it also fills N synthetic leads and times the store queries behind
the staff panel's lead list (first page, count, search, sync-state filter), median and
max of five runs each.

The target is 10,000 rows imported in under 5 s. ``fill(url, n)`` inserts ``n``
synthetic leads fast for the scale benchmark.

Run: ``python benchmarks/import.py [--rows 10000] [--naive-rows 2000] [--scale N]
[--json]``.
Exit status 1 when the batched import misses the target, or a re-import adds leads.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kiosk.store import open_store
from kiosk.store.bulk import COMPANIES, FIRST_NAMES, LAST_NAMES, fill_synthetic_leads
from kiosk.store.csvio import export_csv, import_csv

TARGET_S = 5.0
CLI_TIMEOUT_S = 300
HEADER = (
    "first_name", "last_name", "email", "phone", "company", "title", "notes", "rating",
    "consent_at", "badge_id",
)  # fmt: skip


def fill(url: str, n: int, *, seed: int = 0) -> int:
    """Insert ``n`` synthetic leads, each with an outbox row, into the store at ``url``.

    Returns:
        How many leads were added.
    """
    store = open_store(url)
    try:
        return fill_synthetic_leads(store, n, seed=seed)
    finally:
        store.close()


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` synthetic leads to ``path``: UTF-8 CSV with a byte order mark."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(rows):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            writer.writerow(
                (
                    first,
                    last,
                    f"visitor{index}@example.com",
                    f"+1201555{index % 10000:04d}",
                    rng.choice(COMPANIES),
                    "Head of Engineering",
                    "'=asked for a demo" if index % 10 == 0 else "met at the booth",
                    rng.choice(("hot", "warm", "cold", "")),
                    "2026-05-04T10:42:00+00:00",
                    f"B{index:06d}",
                )
            )


def time_batched(csv_path: Path, folder: Path) -> dict[str, Any]:
    """Import the file with ``import_csv`` into a fresh database."""
    store = open_store(f"sqlite:///{folder / 'batched.sqlite3'}")
    try:
        started = time.perf_counter()
        report = import_csv(csv_path, store)
        seconds = time.perf_counter() - started
        pending = store.count_leads(state="pending")
    finally:
        store.close()
    return {
        "rows": report.imported,
        "rejected": len(report.rejected),
        "pending": pending,
        "seconds": round(seconds, 3),
        "rows_per_s": round(report.imported / seconds),
    }


def time_reimport(csv_path: Path, folder: Path) -> dict[str, Any]:
    """Import the file again, then a copy with every title changed, into the same store.

    Run after :func:`time_batched`: every row merges into the lead it created.
    """
    changed_path = folder / "changed.csv"
    text = csv_path.read_text(encoding="utf-8-sig")
    changed_path.write_text(text.replace("Head of Engineering", "CTO"), "utf-8")
    store = open_store(f"sqlite:///{folder / 'batched.sqlite3'}")
    result: dict[str, Any] = {}
    try:
        for name, path in (("same_file", csv_path), ("changed_file", changed_path)):
            started = time.perf_counter()
            report = import_csv(path, store)
            result[name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            }
        result["leads"] = store.count_leads()
    finally:
        store.close()
    return result


def time_naive(csv_path: Path, folder: Path, rows: int) -> dict[str, Any]:
    """Save the first ``rows`` rows with one ``save_lead`` transaction each."""
    store = open_store(f"sqlite:///{folder / 'naive.sqlite3'}")
    try:
        leads = _read_rows(csv_path, rows)
        started = time.perf_counter()
        for fields in leads:
            store.save_lead(fields)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {
        "rows": len(leads),
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(leads) / seconds),
    }


def time_cli(csv_path: Path, folder: Path) -> dict[str, Any]:
    """Run ``kiosk import`` and ``kiosk export`` as subprocesses, start-up included."""
    url = f"sqlite:///{folder / 'cli.sqlite3'}"
    timings: dict[str, Any] = {}
    commands = {
        "import_s": ["import", str(csv_path), "--db", url],
        "export_s": ["export", str(folder / "export.csv"), "--db", url],
    }
    for name, args in commands.items():
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "kiosk", *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        timings[name] = round(time.perf_counter() - started, 3)
        if result.returncode != 0:
            raise SystemExit(f"kiosk {args[0]} failed:\n{result.stderr}")
    return timings


def time_export(folder: Path) -> dict[str, Any]:
    """Export the batched import's leads with ``export_csv``."""
    store = open_store(f"sqlite:///{folder / 'batched.sqlite3'}")
    try:
        started = time.perf_counter()
        report = export_csv(folder / "batched-export.csv", store)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"rows": report.exported, "seconds": round(seconds, 3)}


QUERY_SEARCHES = ("müller", "zoë acme", "tanaka hooli", "no-such-visitor")
QUERY_REPEAT = 5


def time_queries(folder: Path, count: int) -> dict[str, Any]:
    """Fill ``count`` leads and time the lead-list queries of the staff panel."""
    url = f"sqlite:///{folder / 'scale.sqlite3'}"
    started = time.perf_counter()
    fill(url, count)
    result: dict[str, Any] = {"fill_s": round(time.perf_counter() - started, 2)}
    store = open_store(url)
    try:
        queries: dict[str, Any] = {
            "first page": lambda: store.list_leads(),
            "count all": lambda: store.count_leads(),
            "page at offset 90000": lambda: store.list_leads(offset=90_000),
            "needs_attention page": lambda: store.list_leads(state="needs_attention"),
            "needs_attention count": lambda: store.count_leads(state="needs_attention"),
            "synced page": lambda: store.list_leads(state="synced"),
            "synced count": lambda: store.count_leads(state="synced"),
        }
        for text in QUERY_SEARCHES:
            queries[f"search {text!r} page+count"] = lambda text=text: (
                store.list_leads(text),
                store.count_leads(text),
            )
        for name, query in queries.items():
            result[name] = _median_max_ms(query)
    finally:
        store.close()
    return result


def _median_max_ms(query: Any) -> dict[str, float]:
    times = []
    for _ in range(QUERY_REPEAT):
        started = time.perf_counter()
        query()
        times.append((time.perf_counter() - started) * 1000.0)
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
    }


def _read_rows(csv_path: Path, rows: int) -> list[dict[str, str]]:
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        result = []
        for row in reader:
            if len(result) >= rows:
                break
            row["notes"] = row["notes"].removeprefix("'")
            result.append(row)
    return result


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="CSV rows to import")
    parser.add_argument(
        "--naive-rows",
        type=int,
        default=2_000,
        help="rows for the one-transaction-a-row import (default 2000)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help="also fill N leads and time the lead-list queries (default: skip)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kiosk-import-") as name:
        folder = Path(name)
        csv_path = folder / "leads.csv"
        write_csv(csv_path, args.rows)
        result = {
            "batched": time_batched(csv_path, folder),
            "reimport": time_reimport(csv_path, folder),
            "naive": time_naive(csv_path, folder, min(args.naive_rows, args.rows)),
            "cli": time_cli(csv_path, folder),
            "export": time_export(folder),
        }
        if args.scale:
            result["queries"] = time_queries(folder, args.scale)
    naive = result["naive"]
    result["naive_estimated_s_for_all_rows"] = round(args.rows / naive["rows_per_s"], 1)
    reimport = result["reimport"]
    ok = (
        result["batched"]["seconds"] < TARGET_S
        and result["batched"]["rows"] == args.rows
        and reimport["leads"] == args.rows
        and reimport["same_file"]["unchanged"] == args.rows
        and reimport["changed_file"]["updated"] == args.rows
    )
    result["target_met"] = ok
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(result, args.rows)
    return 0 if ok else 1


def _print_table(result: dict[str, Any], rows: int) -> None:
    batched, naive, cli = result["batched"], result["naive"], result["cli"]
    print(f"CSV import of {rows} rows (target: under {TARGET_S:.0f} s)")
    print(
        f"  batched, 500 rows a transaction: {batched['seconds']:.2f} s "
        f"({batched['rows_per_s']} rows/s, {batched['pending']} queued for sync)"
    )
    reimport = result["reimport"]
    print(
        f"  same file again (all unchanged): {reimport['same_file']['seconds']:.2f} s"
    )
    changed_s = reimport["changed_file"]["seconds"]
    print(
        f"  every row changed (new revision):{changed_s:.2f} s "
        f"({reimport['leads']} leads after both)"
    )
    print(
        f"  naive, one transaction a row:    {naive['seconds']:.2f} s for "
        f"{naive['rows']} rows ({naive['rows_per_s']} rows/s; about "
        f"{result['naive_estimated_s_for_all_rows']} s for {rows}, estimated)"
    )
    print(
        f"  kiosk import subprocess:         {cli['import_s']:.2f} s "
        "(start-up included)"
    )
    print(f"  kiosk export subprocess:         {cli['export_s']:.2f} s")
    print(
        f"  export_csv of {result['export']['rows']} leads:      "
        f"{result['export']['seconds']:.2f} s"
    )
    print("  target met" if result["target_met"] else "  TARGET MISSED")
    queries = result.get("queries")
    if queries:
        print(
            f"Lead-list queries (fill took {queries.pop('fill_s')} s), ms median/max:"
        )
        for name, figures in queries.items():
            print(f"  {name:34} {figures['median_ms']:8.1f} {figures['max_ms']:8.1f}")


if __name__ == "__main__":
    sys.exit(main())
