"""``kiosk-sync``: the sync engine as a standalone daemon.

Exit statuses are listed in :data:`EXIT_STATUS_HELP`, which ``--help`` prints.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from sync_daemon.connectors.acme import AcmeConnector, InsecureUrlError
from sync_daemon.engine import SyncEngine
from sync_daemon.mapping import MappingError, load_mapping
from sync_daemon.outbox import Outbox
from sync_daemon.settings import (
    DaemonConfig,
    SettingsError,
    default_db_url,
    load_daemon_config,
)
from sync_daemon.startup import (
    DatabaseLocked,
    StartupError,
    open_database,
    prepare_database,
)

logger = logging.getLogger(__name__)

EXIT_SYNCED = 0
EXIT_TIMEOUT = 1
EXIT_USAGE = 2
EXIT_NEEDS_ATTENTION = 3

EXIT_STATUS_HELP = """\
exit status:
  0  every lead synced (with --once), or stopped by SIGTERM or SIGINT (without it)
  1  with --once: --timeout passed with leads still waiting, also when another
     writer kept the database locked for all that time
  2  usage or configuration error: an invalid option or setting, a database that
     does not exist or is not the kiosk's, a database locked for all of --timeout
     (without --once), or (with --once) the CRM rejecting the API key or operator;
     without --once, a rejected key is logged once and retried at the backoff cap
  3  with --once: nothing sendable is left but some leads need attention (listed
     on stderr)

kiosk-sync opens only the database the kiosk created; it never creates one. While
another writer has the database locked at start-up, it waits, up to --timeout.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``kiosk-sync``."""
    parser = argparse.ArgumentParser(
        prog="kiosk-sync",
        description="Push the kiosk's saved leads to the CRM.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the kiosk's existing database (default: the kiosk's "
        "own file in the user data folder)",
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
        help="with --once, give up after S seconds (default: 300); in both modes, "
        "also the longest wait at start-up for a database locked by another writer",
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
    # Alembic logs its set-up at INFO on every start, even with nothing to upgrade.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error("--timeout must be a positive number of seconds")
    deadline = time.monotonic() + args.timeout
    stop = threading.Event()
    _stop_on_signals(stop)

    try:
        config = load_daemon_config(args.config)
        connector = _build_connector(args.crm_url or config.crm.url, config)
    except (SettingsError, InsecureUrlError, MappingError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        return _run(args, config, connector, stop, deadline)
    finally:
        connector.close()


def _build_connector(url: str, config: DaemonConfig) -> AcmeConnector:
    if not url:
        raise SettingsError(
            "No CRM URL: pass --crm-url, set KIOSK_CRM_URL, or set [crm] url in the "
            "configuration file."
        )
    return AcmeConnector(
        url,
        api_key=config.crm.api_key,
        operator_email=config.crm.operator_email,
        timeout_s=config.crm.timeout_s,
    )


def _run(
    args: argparse.Namespace,
    config: DaemonConfig,
    connector: AcmeConnector,
    stop: threading.Event,
    deadline: float,
) -> int:
    try:
        database = open_database(args.db or default_db_url(), given=bool(args.db))
    except StartupError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        ready = prepare_database(database, deadline=deadline, stop=stop)
    except DatabaseLocked as exc:
        if args.once:
            return _fail(f"{exc} {_waiting_note(database)}", EXIT_TIMEOUT)
        return _fail(str(exc), EXIT_USAGE)
    except StartupError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if not ready:
        return EXIT_TIMEOUT if args.once else EXIT_SYNCED

    crm = urlsplit(connector.base_url)
    logger.info(
        "Syncing %s to %s://%s",
        database.url.render_as_string(hide_password=True),
        crm.scheme,
        crm.netloc,
    )
    engine = SyncEngine(database, connector, load_mapping("acme"), config.sync)
    if not args.once:
        engine.run_forever(stop)
        return EXIT_SYNCED
    try:
        stats = engine.drain(stop, max(0.0, deadline - time.monotonic()))
    except OperationalError as exc:
        return _fail(f"The database stayed locked ({exc.orig}).", EXIT_TIMEOUT)
    if engine.config_error:
        return _fail(engine.config_error, EXIT_USAGE)
    if stats.waiting:
        ended = "stopped by a signal" if stop.is_set() else f"after {args.timeout:g} s"
        return _fail(f"{stats.waiting} lead(s) still waiting {ended}", EXIT_TIMEOUT)
    if stats.needs_attention:
        _print_attention(engine)
        return EXIT_NEEDS_ATTENTION
    return EXIT_SYNCED


def _fail(message: str, status: int) -> int:
    print(f"kiosk-sync: {message}", file=sys.stderr)
    return status


def _waiting_note(database: Engine) -> str:
    try:
        waiting = Outbox(database).queue_stats().waiting
    except OperationalError:
        return "Leads may still be waiting."
    return f"{waiting} lead(s) still waiting."


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
