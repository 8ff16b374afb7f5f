"""Run the AcmeCRM server in-process: werkzeug's threaded server, daemon thread."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from acmecrm.faults import FaultSettings
from acmecrm.server import create_app, get_service
from acmecrm.service import CrmService

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
# How often the serving loop checks for shutdown, in seconds. stop() waits that long.
POLL_INTERVAL_S = 0.1


class QuietRequestHandler(WSGIRequestHandler):
    """A request handler that leaves request logging to the app.

    werkzeug's own access log prints the request line with its query string, which can
    hold an email address, so it is turned off here.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing: the app logs each request without its query string."""


class RunningServer:
    """An AcmeCRM server serving in a daemon thread.

    Attributes:
        url: The base URL, such as ``http://127.0.0.1:41234``.
        port: The port it listens on.
        service: The server's shared state.
    """

    def __init__(self, server: BaseWSGIServer, service: CrmService) -> None:
        self._server = server
        self.service = service
        self.port: int = server.server_port
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            args=(POLL_INTERVAL_S,),
            name=f"acmecrm-{self.port}",
            daemon=True,
        )
        self._stopped = False

    def start(self) -> None:
        """Start serving in the background."""
        self._thread.start()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings and return all of them.

        Raises:
            ValueError: When a setting is unknown or its value invalid.
        """
        return self.service.set_faults(**changes)

    def faults(self) -> dict[str, Any]:
        """Return the fault settings now in force."""
        return self.service.fault_settings()

    def stats(self) -> dict[str, Any]:
        """Return ``{contacts, created, updated, replayed, requests_by_status}``."""
        return self.service.stats()

    def contacts(self) -> list[dict[str, Any]]:
        """Return every stored contact, read directly and never faulted."""
        return self.service.storage.all_contacts()

    def stop(self) -> None:
        """Stop serving, end held responses and wait for the server thread."""
        if self._stopped:
            return
        self._stopped = True
        self.service.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(STOP_TIMEOUT_S)
        self._server.server_close()
        self.service.storage.close()
        logger.info("AcmeCRM on port %d stopped", self.port)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_server(
    db_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    faults: Mapping[str, Any] | FaultSettings | None = None,
    secret: str | None = None,
) -> RunningServer:
    """Start an AcmeCRM server on ``host:port`` (0 picks a free port) and return it.

    Raises:
        OSError: When the address cannot be bound.
        ValueError: When a fault setting is unknown or invalid.
    """
    running = make_running_server(
        db_path, host=host, port=port, api_key=api_key, faults=faults, secret=secret
    )
    running.start()
    logger.info("AcmeCRM serving on %s", running.url)
    return running


def make_running_server(
    db_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    faults: Mapping[str, Any] | FaultSettings | None = None,
    secret: str | None = None,
) -> RunningServer:
    """Bind an AcmeCRM server without starting it (see :func:`start_server`)."""
    app = create_app(db_path, secret=secret, api_key=api_key, faults=faults)
    return bind_app(app, host=host, port=port)


def bind_app(app: Flask, *, host: str, port: int) -> RunningServer:
    """Bind an app built by :func:`create_app` to ``host:port`` without serving yet.

    Raises:
        OSError: When the address cannot be bound.
    """
    try:
        server = make_server(
            host, port, app, threaded=True, request_handler=QuietRequestHandler
        )
    except SystemExit as exc:
        # werkzeug 3.1 prints the bind error to stderr and raises SystemExit(1), which
        # would end a program that embeds the server.
        raise OSError(f"cannot listen on {host}:{port}") from exc
    return RunningServer(server, get_service(app))
