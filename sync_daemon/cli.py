"""``kiosk-sync``: the sync engine as a standalone daemon.

Exit status: 0 every lead synced (or stopped by a signal without ``--once``); 1
``--timeout`` passed with leads still waiting; 2 usage or configuration error; 3 nothing
sendable is left but some leads need attention (listed on stderr).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit

from sync_daemon.connectors.acme import AcmeConnector, InsecureUrlError
from sync_daemon.db import create_db_engine
from sync_daemon.engine import SyncEngine
from sync_daemon.mapping import MappingError, load_mapping
from sync_daemon.outbox import migrate
from sync_daemon.settings import SettingsError, default_db_url, load_daemon_config

logger = logging.getLogger(__name__)

EXIT_SYNCED = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_NEEDS_ATTENTION = 3


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``kiosk-sync``."""
    parser = argparse.ArgumentParser(
        prog="kiosk-sync",
        description="Push the kiosk's saved leads to the CRM.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the kiosk's database (default: the kiosk's own file "
        "in the user data folder)",
    )
    parser.add_argument(
        "--crm-url",
        metavar="URL",
        help="CRM base URL such as https://crm.example.com (default: KIOSK_CRM_URL, "
        "else [crm] url in the configuration file)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (TOML) with [crm] and [sync]",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="exit once no lead is waiting, retrying transient failures until then",
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=float,
        default=300.0,
        help="with --once, give up after S seconds (default: 300)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kiosk-sync`` and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    try:
        engine = _build_engine(args)
    except (SettingsError, InsecureUrlError, MappingError) as exc:
        print(f"kiosk-sync: {exc}", file=sys.stderr)
        return EXIT_USAGE

    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        if not args.once:
            engine.run_forever(stop)
            return EXIT_SYNCED
        stats = engine.drain(stop, args.timeout)
    finally:
        engine.connector.close()
    if stats.waiting:
        print(
            f"kiosk-sync: {stats.waiting} lead(s) still waiting after "
            f"{args.timeout:g} s",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    if stats.needs_attention:
        _print_attention(engine)
        return EXIT_NEEDS_ATTENTION
    return EXIT_SYNCED


def _build_engine(args: argparse.Namespace) -> SyncEngine:
    config = load_daemon_config(args.config)
    url = args.crm_url or config.crm.url
    if not url:
        raise SettingsError(
            "No CRM URL: pass --crm-url, set KIOSK_CRM_URL, or set [crm] url in the "
            "configuration file."
        )
    connector = AcmeConnector(
        url,
        api_key=config.crm.api_key,
        operator_email=config.crm.operator_email,
        timeout_s=config.crm.timeout_s,
    )
    database = create_db_engine(args.db or default_db_url())
    migrate(database)
    crm = urlsplit(connector.base_url)
    logger.info(
        "Syncing %s to %s://%s",
        database.url.render_as_string(hide_password=True),
        crm.scheme,
        crm.hostname if crm.port is None else f"{crm.hostname}:{crm.port}",
    )
    return SyncEngine(database, connector, load_mapping("acme"), config.sync)


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info(
            "Got signal %d; finishing the batch in flight, then exiting", signum
        )
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _print_attention(engine: SyncEngine) -> None:
    rows = engine.outbox.needs_attention()
    print(f"kiosk-sync: {len(rows)} lead(s) need attention:", file=sys.stderr)
    for row in rows:
        print(
            f"  {row.lead_id} (revision {row.revision}): {row.last_error}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
