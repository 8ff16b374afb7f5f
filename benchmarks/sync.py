"""Sync benchmark: drain leads through a local AcmeCRM under faults, and measure CPU.

Three parts, run side by side so they share the machine's load:

1. Drain ``--leads`` leads (10,000 by default) through an AcmeCRM subprocess with its
   rate limit lifted. The fault mix is 20 % injected 5xx, 2 % of writes stored and
   then held longer than the client's timeout, 10 ms latency, 20 s tokens, and one
   5 s outage. Prints lost, duplicated, requests per lead, token refreshes and time
   to drain.
2. Batched sync against one request per lead, on ``--compare-leads`` leads, no faults.
3. CPU use of a ``kiosk-sync`` subprocess while the CRM is down, over ``--cpu-seconds``.

Usage: ``python benchmarks/sync.py [--leads N] [--compare-leads N] [--cpu-seconds S]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from sync_daemon.connectors.acme import AcmeConnector
from sync_daemon.connectors.base import RequestMetric
from sync_daemon.db import create_db_engine
from sync_daemon.engine import EngineSettings, SyncEngine
from sync_daemon.mapping import load_mapping
from sync_daemon.outbox import enqueue, migrate

LISTENING_RE = re.compile(r"AcmeCRM listening on (http://\S+)")
CLIENT_TIMEOUT_S = 2.0
HOLD_MS = 3000  # longer than CLIENT_TIMEOUT_S, so held responses time out
OUTAGE_S = 5.0


class Crm:
    """An ``acmecrm`` subprocess on a free loopback port."""

    def __init__(self, folder: Path, *flags: str) -> None:
        command = [
            sys.executable, "-m", "acmecrm", "--port", "0",
            "--db", str(folder / "crm.sqlite3"), "--log-level", "WARNING", *flags,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        self.url = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = LISTENING_RE.search(line)
            if match:
                self.url = match.group(1)
                break
            if not line and self.process.poll() is not None:
                break
        if not self.url:
            self.stop()
            raise RuntimeError("acmecrm did not print its listening line within 30 s")

    def admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = requests.request(method, self.url + path, json=body, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def set_faults(self, **changes: Any) -> None:
        self.admin("POST", "/_admin/faults", changes)

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "/_admin/stats")

    def emails(self) -> list[str]:
        token = requests.post(
            self.url + "/api/v1/auth",
            json={"email": "bench@example.com", "name": "Bench", "company": ""},
            timeout=10,
        ).json()["token"]
        emails: list[str] = []
        while True:
            page = requests.get(
                self.url + "/api/v1/contacts",
                params={"limit": 100, "offset": len(emails)},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()["contacts"]
            emails.extend(contact["acme_email"] for contact in page)
            if len(page) < 100:
                return emails

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()


@dataclass
class Counter:
    """Counts the engine's requests by status; timeouts have status 0."""

    requests: int = 0
    timeouts: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    ok_latencies_ms: list[float] = field(default_factory=list)

    def __call__(self, metric: RequestMetric) -> None:
        self.requests += 1
        if metric.reason == "timeout":
            self.timeouts += 1
        if metric.ok and metric.items:
            self.ok_latencies_ms.append(metric.latency_ms)
        self.by_status[metric.status] = self.by_status.get(metric.status, 0) + 1


def fill_outbox(db_url: str, count: int) -> list[str]:
    engine = create_db_engine(db_url)
    migrate(engine)
    emails = [f"lead{index}@example.com" for index in range(count)]
    with engine.begin() as connection:
        for index, email in enumerate(emails):
            snapshot = {
                "first_name": "Bench",
                "last_name": f"Lead {index}",
                "email": email,
                "company": "Example Ltd",
                "rating": "warm",
            }
            enqueue(connection, str(uuid.uuid4()), 1, snapshot)
    engine.dispose()
    return emails


def drain(
    crm: Crm,
    db_url: str,
    settings: EngineSettings,
    *,
    outage_after_s: float | None = None,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    counter = Counter()
    connector = AcmeConnector(crm.url, timeout_s=CLIENT_TIMEOUT_S)
    engine = SyncEngine(
        db_url, connector, load_mapping("acme"), settings, on_request=counter
    )
    stop = threading.Event()
    outage = None
    if outage_after_s is not None:
        outage = threading.Timer(outage_after_s, run_outage, args=(crm,))
        outage.start()
    started = time.monotonic()
    stats = engine.drain(stop, timeout_s)
    elapsed = time.monotonic() - started
    if outage is not None:
        outage.join()
    connector.close()
    return {
        "seconds": elapsed,
        "waiting": stats.waiting,
        "synced": stats.synced,
        "needs_attention": stats.needs_attention,
        "requests": counter.requests,
        "by_status": dict(sorted(counter.by_status.items())),
        "timeouts": counter.timeouts,
        "median_write_ms": statistics.median(counter.ok_latencies_ms or [0.0]),
        "token_refreshes": engine.tokens.refresh_count,
    }


def run_outage(crm: Crm) -> None:
    crm.set_faults(down=True)
    time.sleep(OUTAGE_S)
    crm.set_faults(down=False)


def fault_drain(folder: Path, leads: int, seed: int) -> dict[str, Any]:
    crm = Crm(
        folder, "--rate-limit", "0", "--error-rate", "0.2",
        "--apply-then-timeout-rate", "0.02", "--hold-ms", str(HOLD_MS),
        "--latency-ms", "10", "--token-ttl", "20", "--fault-seed", str(seed),
    )  # fmt: skip
    try:
        db_url = f"sqlite:///{folder / 'leads.sqlite3'}"
        emails = fill_outbox(db_url, leads)
        settings = EngineSettings(rate_limit_per_minute=0)
        result = drain(crm, db_url, settings, outage_after_s=3.0)
        crm.set_faults(error_rate=0.0, latency_ms=0, apply_then_timeout_rate=0.0)
        stored = crm.emails()
        stats = crm.stats()
    finally:
        crm.stop()
    result["lost"] = len(set(emails) - set(stored))
    result["duplicated"] = stats["created"] - len(set(stored) & set(emails))
    result["crm"] = stats
    result["requests_per_lead"] = result["requests"] / leads
    return result


def compare(folder: Path, leads: int) -> dict[str, Any]:
    results = {}
    for name, use_bulk in (("batched", True), ("one_per_lead", False)):
        sub = folder / name
        sub.mkdir()
        crm = Crm(sub, "--rate-limit", "0")
        try:
            db_url = f"sqlite:///{sub / 'leads.sqlite3'}"
            fill_outbox(db_url, leads)
            settings = EngineSettings(rate_limit_per_minute=0, use_bulk=use_bulk)
            result = drain(crm, db_url, settings)
            result["created"] = crm.stats()["created"]
        finally:
            crm.stop()
        result["leads_per_s"] = leads / result["seconds"]
        results[name] = result
    return results


def cpu_while_down(folder: Path, seconds: float) -> dict[str, Any]:
    sub = folder / "cpu"
    sub.mkdir()
    crm = Crm(sub, "--down")
    db_url = f"sqlite:///{sub / 'leads.sqlite3'}"
    fill_outbox(db_url, 100)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "sync_daemon", "--db", db_url, "--crm-url", crm.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "XDG_CONFIG_HOME": str(sub / "no-config")},
    )
    try:
        time.sleep(3.0)  # start-up (imports, migrations) is not the steady state
        ticks_before, wall_before = cpu_ticks(daemon.pid), time.monotonic()
        time.sleep(seconds)
        ticks_after, wall_after = cpu_ticks(daemon.pid), time.monotonic()
        requests_seen = crm.stats()["requests_by_status"]
    finally:
        daemon.terminate()
        daemon.wait(15)
        crm.stop()
    cpu_s = (ticks_after - ticks_before) / os.sysconf("SC_CLK_TCK")
    wall_s = wall_after - wall_before
    return {
        "seconds": wall_s,
        "cpu_seconds": cpu_s,
        "cpu_percent": 100.0 * cpu_s / wall_s,
        "crm_requests_by_status": requests_seen,
    }


def cpu_ticks(pid: int) -> int:
    """Return user + system CPU ticks of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime and stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--leads", type=int, default=10_000, help="leads in the fault drain"
    )
    parser.add_argument(
        "--compare-leads", type=int, default=1_000, help="leads in the batch comparison"
    )
    parser.add_argument(
        "--cpu-seconds",
        type=float,
        default=20.0,
        help="CPU measurement window, seconds",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the CRM's fault draws (default 1)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as temp:
        folder = Path(temp)
        (folder / "faults").mkdir()
        results = {
            "fault_drain": fault_drain(folder / "faults", args.leads, args.seed),
            "compare": compare(folder, args.compare_leads),
            "cpu_down": cpu_while_down(folder, args.cpu_seconds),
        }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results, args)
    return 0


def print_report(results: dict[str, Any], args: argparse.Namespace) -> None:
    drain_result = results["fault_drain"]
    print(f"Fault drain of {args.leads} leads")
    print(f"  lost                {drain_result['lost']}")
    print(f"  duplicated          {drain_result['duplicated']}")
    print(f"  still waiting       {drain_result['waiting']}")
    print(f"  requests per lead   {drain_result['requests_per_lead']:.4f}")
    print(f"  requests by status  {drain_result['by_status']} (0: no answer)")
    print(f"  client timeouts     {drain_result['timeouts']}")
    print(f"  median write        {drain_result['median_write_ms']:.0f} ms a request")
    print(f"  token refreshes     {drain_result['token_refreshes']}")
    print(f"  time to drain       {drain_result['seconds']:.1f} s")
    print(f"  CRM counters        {drain_result['crm']}")
    print(
        f"Batched against one request per lead, {args.compare_leads} leads, no faults"
    )
    for name, result in results["compare"].items():
        print(
            f"  {name:13s} {result['seconds']:6.2f} s  {result['leads_per_s']:8.1f} "
            f"leads/s  {result['requests']:5d} requests  created {result['created']}  "
            f"median {result['median_write_ms']:.0f} ms a request"
        )
    cpu = results["cpu_down"]
    print(f"kiosk-sync with the CRM down, over {cpu['seconds']:.1f} s")
    print(
        f"  CPU                 {cpu['cpu_percent']:.3f} % ({cpu['cpu_seconds']:.2f} s)"
    )
    print(f"  CRM requests        {cpu['crm_requests_by_status']}")


if __name__ == "__main__":
    sys.exit(main())
