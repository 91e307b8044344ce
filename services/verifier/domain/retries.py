"""Retry timing: exponential backoff with full jitter, and the body's own Retry-After. Pure."""

import random


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 0.2,
    cap: float = 10.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempts count from 1)."""
    # The exponent is bounded so that late attempts cannot overflow the float conversion.
    jittered = (rng or random).uniform(0, min(cap, base * 2 ** min(attempt - 1, 64)))
    return max(jittered, retry_after or 0.0)
