"""Full-jitter backoff."""

from __future__ import annotations

import random

import pytest

from sync_daemon.backoff import full_jitter


def test_first_retry_within_base() -> None:
    rng = random.Random(1)
    delays = [full_jitter(1, 1.0, 60.0, rng) for _ in range(500)]
    assert min(delays) >= 0.0
    assert max(delays) <= 1.0


def test_window_doubles_per_attempt() -> None:
    rng = random.Random(2)
    delays = [full_jitter(4, 1.0, 60.0, rng) for _ in range(2000)]
    assert max(delays) <= 8.0
    # Full jitter spreads the delays over the whole window, not only its top.
    assert max(delays) > 7.0
    assert min(delays) < 1.0


def test_window_capped() -> None:
    rng = random.Random(3)
    delays = [full_jitter(40, 1.0, 60.0, rng) for _ in range(2000)]
    assert max(delays) <= 60.0
    assert max(delays) > 55.0


def test_huge_attempt_does_not_overflow() -> None:
    assert 0.0 <= full_jitter(100_000, 1.0, 5.0) <= 5.0


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempt_below_one_rejected(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempt"):
        full_jitter(attempt, 1.0, 60.0)
