"""Safety nets shared by every test.

- Qt runs offscreen, so the suite needs no display.
- A test fails when our code logs a WARNING or above that the test did not declare with
  ``@pytest.mark.expected_log("logger.prefix", ...)``.
- The run fails when a non-daemon thread is still alive at the end of the session.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
OUR_LOGGERS = ("kiosk", "sync_daemon", "acmecrm")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expected_log(*prefixes): WARNING or ERROR records from these loggers are "
        "expected",
    )


@pytest.fixture
def shared_dir() -> Path:
    """Return the shared test data folder beside the repository, or skip."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared test data folder {SHARED_DIR} is absent")
    return SHARED_DIR


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OUR_LOGGERS:
            self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_unexpected_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    collector = _WarningCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    allowed: list[str] = []
    for marker in request.node.iter_markers("expected_log"):
        allowed.extend(marker.args)
    unexpected = [
        record
        for record in collector.records
        if not any(record.name.startswith(prefix) for prefix in allowed)
    ]
    if unexpected:
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in unexpected[:10]]
        pytest.fail("unexpected log records:\n" + "\n".join(lines), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
        and not thread.daemon
        and thread.is_alive()
    ]
    if leftovers:
        names = ", ".join(thread.name for thread in leftovers)
        print(f"\nnon-daemon threads still running after the tests: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
