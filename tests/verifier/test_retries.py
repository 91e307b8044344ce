"""Backoff: exponential up to a cap, full jitter, and the body's Retry-After as a floor."""

import random

import pytest

from services.verifier.domain.retries import backoff_delay


def bound(attempt: int, base: float = 0.2, cap: float = 10.0) -> float:
    return min(cap, base * 2.0 ** (attempt - 1))


def test_bound_grows_exponentially_up_to_the_cap() -> None:
    # With full jitter, the largest of many draws approaches the bound for each attempt.
    rng = random.Random(1)
    for attempt, expected in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (6, 6.4), (7, 10.0)]:
        draws = [backoff_delay(attempt, rng=rng) for _ in range(2000)]
        assert max(draws) <= expected
        assert max(draws) > 0.95 * expected
        assert min(draws) < 0.05 * expected


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 50, 2000])
def test_full_jitter_stays_within_zero_and_the_bound(attempt: int) -> None:
    rng = random.Random(attempt)
    for _ in range(500):
        delay = backoff_delay(attempt, rng=rng)
        assert 0.0 <= delay <= bound(min(attempt, 64))


def test_custom_base_and_cap() -> None:
    rng = random.Random(3)
    draws = [backoff_delay(5, base=1.0, cap=3.0, rng=rng) for _ in range(1000)]
    assert max(draws) <= 3.0
    assert max(draws) > 2.9


def test_jitter_spreads_the_delays() -> None:
    rng = random.Random(5)
    assert len({backoff_delay(4, rng=rng) for _ in range(100)}) > 90


def test_retry_after_is_a_floor() -> None:
    rng = random.Random(7)
    for _ in range(200):
        assert backoff_delay(1, retry_after=3.0, rng=rng) == 3.0
    assert backoff_delay(1, retry_after=0.0, rng=random.Random(7)) == backoff_delay(
        1, rng=random.Random(7)
    )


def test_retry_after_longer_than_the_cap_is_honoured() -> None:
    assert backoff_delay(20, retry_after=60.0, rng=random.Random(0)) == 60.0


def test_a_short_retry_after_does_not_shorten_the_jitter() -> None:
    rng_a, rng_b = random.Random(9), random.Random(9)
    for _ in range(100):
        plain = backoff_delay(6, rng=rng_a)
        assert backoff_delay(6, retry_after=0.01, rng=rng_b) == max(plain, 0.01)


def test_deterministic_with_a_seeded_random() -> None:
    first = [backoff_delay(a, rng=random.Random(42)) for a in range(1, 8)]
    second = [backoff_delay(a, rng=random.Random(42)) for a in range(1, 8)]
    assert first == second
    assert first != [backoff_delay(a, rng=random.Random(43)) for a in range(1, 8)]
