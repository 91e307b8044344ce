"""The estimation rule: observed turnaround once there are enough samples, the slowest body
decides, and the verifier's own estimate wins."""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.turnaround import (
    Observed,
    TurnaroundPolicy,
    body_turnaround,
    expected_completion,
    observe,
)

POLICY = TurnaroundPolicy(min_samples=3, smoothing=0.5)
AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def test_first_observation_is_taken_as_is_then_smoothed() -> None:
    first = observe(None, 10.0, POLICY)
    assert first == Observed(10.0, 1)
    assert observe(first, 20.0, POLICY) == Observed(15.0, 2)
    assert observe(Observed(0.0, 0), 4.0, POLICY) == Observed(4.0, 1)


def test_negative_times_count_as_zero() -> None:
    assert observe(None, -3.0, POLICY) == Observed(0.0, 1)


def test_configured_until_enough_samples() -> None:
    assert body_turnaround(60, Observed(2.0, 2), POLICY) == timedelta(seconds=60)
    assert body_turnaround(60, Observed(2.0, 3), POLICY) == timedelta(seconds=2)
    assert body_turnaround(60, None, POLICY) == timedelta(seconds=60)


def test_slowest_body_decides() -> None:
    configured = {"fast": 1.0, "slow": 30.0}
    observed = {"slow": Observed(4.0, 10)}
    assert expected_completion(
        AT, ["fast", "slow"], configured, observed, POLICY
    ) == AT + timedelta(seconds=4)


def test_verifier_estimate_wins() -> None:
    reported = AT + timedelta(days=3)
    assert expected_completion(AT, ["a"], {"a": 1.0}, {}, POLICY, reported) == reported


@pytest.mark.parametrize(("min_samples", "smoothing"), [(0, 0.5), (1, 0.0), (1, 1.5)])
def test_policy_bounds(min_samples: int, smoothing: float) -> None:
    with pytest.raises(ValueError):
        TurnaroundPolicy(min_samples, smoothing)
