"""The ``acmecrm`` command: run the AcmeCRM server in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from acmecrm.faults import SETTING_RANGES, convert_fault_value

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
MAX_PORT = 65_535


def port_number(text: str) -> int:
    """Parse a ``--port`` value: a TCP port from 0 to 65535, where 0 picks a free one.

    Raises:
        argparse.ArgumentTypeError: When ``text`` is not such a number.
    """
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to {MAX_PORT}, got {text!r}"
        ) from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to {MAX_PORT}, got {port}"
        )
    return port


def fault_value(name: str) -> Callable[[str], Any]:
    """Return an argparse type that parses and range-checks the fault setting ``name``.

    The returned function raises ``argparse.ArgumentTypeError`` with the accepted
    range, so argparse reports a bad value as a usage error (exit status 2).
    """
    accepted = SETTING_RANGES[name]

    def parse(text: str) -> Any:
        try:
            number = int(text) if accepted.integer else float(text)
            return convert_fault_value(name, number)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"must be {accepted.describe()}, got {text!r}"
            ) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of ``acmecrm``."""
    parser = argparse.ArgumentParser(
        prog="acmecrm",
        description="Run the AcmeCRM stand-in server (JSON API under /api/v1).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port (0 to {MAX_PORT}); 0 picks a free port",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("acmecrm.db"),
        help="SQLite file of contacts (acmecrm.db)",
    )
    parser.add_argument("--api-key", help="require this api_key in POST /api/v1/auth")
    parser.add_argument(
        "--secret",
        help="token signing secret (default: env ACMECRM_SECRET, else a generated one "
        "kept in acmecrm.secret beside the database)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="logging level on stderr (INFO)",
    )
    add_fault_arguments(parser)
    return parser


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fault setting options, all applied to /api/v1 requests only."""
    faults = parser.add_argument_group("faults (also settable at /_admin/faults)")
    faults.add_argument(
        "--down", action="store_true", help="respond 503 to every /api/v1 request"
    )
    faults.add_argument(
        "--error-rate",
        type=fault_value("error_rate"),
        help="share of requests that get a 500/502/503 (0 to 1)",
    )
    faults.add_argument(
        "--latency-ms",
        type=fault_value("latency_ms"),
        help="delay added to each request, ms (0 to 60000)",
    )
    faults.add_argument(
        "--rate-limit",
        type=fault_value("rate_limit"),
        help="requests a minute per token (0 to 100000, default 100, 0 is unlimited)",
    )
    faults.add_argument(
        "--token-ttl",
        type=fault_value("token_ttl"),
        help="token lifetime, seconds (1 to 86400, default 900)",
    )
    faults.add_argument(
        "--apply-then-timeout-rate",
        type=fault_value("apply_then_timeout_rate"),
        help="share of contact writes stored, then responded to after --hold-ms "
        "(0 to 1)",
    )
    faults.add_argument(
        "--hold-ms",
        type=fault_value("hold_ms"),
        help="how long such responses are held, ms (0 to 600000, default 15000)",
    )
    faults.add_argument(
        "--clock-skew-s",
        type=fault_value("clock_skew_s"),
        help="server clock offset for tokens, seconds (-86400 to 86400)",
    )
    faults.add_argument(
        "--fault-seed", type=int, help="seed of the random draws behind the rates"
    )


def fault_changes(args: argparse.Namespace) -> dict[str, Any]:
    """Return the fault settings given on the command line."""
    names = (
        "error_rate",
        "latency_ms",
        "rate_limit",
        "token_ttl",
        "apply_then_timeout_rate",
        "hold_ms",
        "clock_skew_s",
    )
    changes: dict[str, Any] = {
        name: getattr(args, name) for name in names if getattr(args, name) is not None
    }
    if args.down:
        changes["down"] = True
    if args.fault_seed is not None:
        changes["seed"] = args.fault_seed
    return changes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM or Ctrl-C, then return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from acmecrm.embedded import bind_app
    from acmecrm.server import create_app

    try:
        app = create_app(
            args.db,
            secret=args.secret,
            api_key=args.api_key,
            faults=fault_changes(args),
        )
    except ValueError as exc:
        parser.error(str(exc))
    except (OSError, sqlite3.Error) as exc:
        print(
            f"acmecrm: cannot open the database {args.db}: {exc}; "
            "check that the path is writable",
            file=sys.stderr,
        )
        return 1
    try:
        running = bind_app(app, host=args.host, port=args.port)
    except OSError as exc:
        print(
            f"acmecrm: {exc}; choose another --port (0 picks a free one) "
            "or stop the program that uses it",
            file=sys.stderr,
        )
        return 1

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    running.start()
    print(f"AcmeCRM listening on {running.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
