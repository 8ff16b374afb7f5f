"""Exponential backoff with full jitter."""

from __future__ import annotations

import random


def full_jitter(
    attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Return a random delay in ``[0, min(cap_s, base_s * 2 ** (attempt - 1))]``.

    Full jitter spreads the retries of many clients over the whole window, so they do
    not come back in step after an outage.

    Args:
        attempt: 1 for the first retry, 2 for the second, and so on.
        base_s: the window of the first retry, in seconds.
        cap_s: the largest window, in seconds.
        rng: the random source; the module's shared one when None.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")
    if base_s < 0 or cap_s < 0:
        raise ValueError("backoff base and cap must not be negative")
    # Cap the exponent so a long outage does not overflow the float.
    window = min(cap_s, base_s * 2.0 ** min(attempt - 1, 62))
    return (rng or random).uniform(0.0, window)
