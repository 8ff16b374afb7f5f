"""Client-side rate limiter and Retry-After parsing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from sync_daemon.ratelimit import RateLimiter, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_limit_in_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    assert [limiter.try_acquire() for _ in range(3)] == [0, 0, 0]
    assert limiter.try_acquire() == pytest.approx(60.0)


def test_window_slides() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 60.0, clock=clock)
    limiter.try_acquire()
    clock.now += 30
    limiter.try_acquire()
    clock.now += 31
    # The first request left the window, the second has not.
    assert limiter.try_acquire() == 0
    assert limiter.try_acquire() == pytest.approx(29.0)


def test_rejected_request_not_counted() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 10.0, clock=clock)
    limiter.try_acquire()
    for _ in range(5):
        assert limiter.try_acquire() > 0
    clock.now += 10.01
    assert limiter.try_acquire() == 0


def test_retry_after_blocks_even_without_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock)
    limiter.block_for(5)
    assert limiter.delay() == pytest.approx(5.0)
    clock.now += 4.9
    assert limiter.try_acquire() > 0
    clock.now += 0.1
    assert limiter.try_acquire() == 0


def test_shorter_retry_after_keeps_longer_block() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock)
    limiter.block_for(10)
    limiter.block_for(2)
    assert limiter.delay() == pytest.approx(10.0)


def test_acquire_returns_false_when_stopped() -> None:
    limiter = RateLimiter(0)
    limiter.block_for(30)
    stop = threading.Event()
    stop.set()
    assert limiter.acquire(stop) is False


def test_acquire_waits_real_time() -> None:
    limiter = RateLimiter(0)
    limiter.block_for(0.2)
    stop = threading.Event()
    assert limiter.acquire(stop) is True
    assert limiter.delay() == 0


def test_negative_limit_rejected() -> None:
    with pytest.raises(ValueError, match="max_requests"):
        RateLimiter(-1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("Fri, 04 Dec 2026 12:00:30 GMT", 30.0),
        ("Fri, 04 Dec 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("-3", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected
