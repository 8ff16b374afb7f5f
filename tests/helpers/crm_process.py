"""Run the real AcmeCRM server as a subprocess, for tests that stop, kill or restart it.

``start_crm_process(db_path, "--rate-limit", "0")`` starts ``python -m acmecrm --port 0
--db DB_PATH --rate-limit 0``, waits for its ``AcmeCRM listening on`` line and returns a
:class:`CrmProcess`. The server's stderr (its log) goes to ``<db_path>.log``.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING_RE = re.compile(r"^AcmeCRM listening on (http://\S+)$")
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 5.0


class CrmProcessError(RuntimeError):
    """The AcmeCRM subprocess did not start or stop as expected."""


class CrmProcess:
    """A running ``python -m acmecrm`` subprocess.

    Attributes:
        db_path: Its SQLite file.
        args: The extra command-line arguments it was started with.
        url: Its base URL, such as ``http://127.0.0.1:41234``.
        port: The port it listens on.
        log_path: The file that receives its stderr.
    """

    def __init__(self, db_path: Path, args: tuple[str, ...], port: int) -> None:
        self.db_path = db_path
        self.args = args
        self.log_path = Path(f"{db_path}.log")
        self.url = ""
        self.port = port
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    @property
    def returncode(self) -> int | None:
        """The exit status, or None while it runs."""
        return None if self._process is None else self._process.poll()

    @property
    def pid(self) -> int:
        """The subprocess id."""
        assert self._process is not None, "the AcmeCRM process was never started"
        return self._process.pid

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the subprocess and wait for its listening line.

        Raises:
            CrmProcessError: When it exits or stays silent past ``timeout_s``.
        """
        command = [
            sys.executable,
            "-m",
            "acmecrm",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            *self.args,
        ]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._log = self.log_path.open("a", encoding="utf-8")
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        self.url = self._read_listening_line(timeout_s)
        self.port = int(self.url.rsplit(":", 1)[1])

    def _read_listening_line(self, timeout_s: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(
            target=_pump_lines, args=(self._process.stdout, lines), daemon=True
        ).start()
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.0, remaining))
            except queue.Empty:
                self.kill()
                raise CrmProcessError(
                    f"AcmeCRM printed no listening line within {timeout_s} s; "
                    f"see {self.log_path}"
                ) from None
            if line is None:
                code = self._process.wait(STOP_TIMEOUT_S)
                raise CrmProcessError(
                    f"AcmeCRM exited with status {code} before listening; "
                    f"see {self.log_path}"
                )
            match = LISTENING_RE.match(line.strip())
            if match:
                return match.group(1)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Send SIGTERM, wait for the exit and return its status.

        Raises:
            CrmProcessError: When it is still running after ``timeout_s`` (it is then
                killed).
        """
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise CrmProcessError(
                    f"AcmeCRM did not stop within {timeout_s} s of SIGTERM"
                ) from None
        self._close_log()
        return self._process.returncode

    def kill(self) -> None:
        """Kill the subprocess with SIGKILL and reap it."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT_S)
        self._close_log()

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stop the server if it runs, then start it on the same port and database.

        Retries for ``timeout_s`` while the port is not free yet.
        """
        self.stop()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.start(timeout_s=max(1.0, deadline - time.monotonic()))
                return
            except CrmProcessError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stats(self) -> dict[str, Any]:
        """Return ``GET /_admin/stats``."""
        return self._admin("GET", "/_admin/stats")

    def contacts(self) -> list[dict[str, Any]]:
        """Return every stored contact through ``GET /_admin/contacts``."""
        contacts: list[dict[str, Any]] = self._admin("GET", "/_admin/contacts")[
            "contacts"
        ]
        return contacts

    def faults(self) -> dict[str, Any]:
        """Return ``GET /_admin/faults``."""
        return self._admin("GET", "/_admin/faults")

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings through ``POST /_admin/faults`` and return them all."""
        return self._admin("POST", "/_admin/faults", changes)

    def _admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = requests.request(
            method, self.url + path, json=body, timeout=HTTP_TIMEOUT_S
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def __enter__(self) -> CrmProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        except CrmProcessError:
            pass  # stop() has killed it.


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    # Keeps reading after the listening line so the pipe never fills up.
    for line in stream:
        lines.put(line)
    lines.put(None)


def start_crm_process(
    db_path: str | os.PathLike[str],
    *args: str,
    port: int = 0,
    timeout_s: float = START_TIMEOUT_S,
) -> CrmProcess:
    """Start ``python -m acmecrm --port PORT --db DB_PATH *args`` and wait until ready.

    Raises:
        CrmProcessError: When the server exits or prints no listening line in time.
    """
    process = CrmProcess(Path(db_path), tuple(args), port)
    process.start(timeout_s=timeout_s)
    return process
