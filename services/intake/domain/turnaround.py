"""How long awarding bodies take, learnt from what they did, and when a request should be done.

Pure: the adapters read and store the observations; the rules live here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.intake.domain.lifecycle import estimate_completion


@dataclass(frozen=True)
class Observed:
    """Exponentially weighted mean of a body's recent answer times, and how many were seen."""

    mean_seconds: float
    samples: int


@dataclass(frozen=True)
class TurnaroundPolicy:
    # Below this many observations the channel's configured turnaround is trusted instead.
    min_samples: int = 3
    # Weight of the newest observation; higher follows changes faster but jitters more.
    smoothing: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")


def observe(previous: Observed | None, seconds: float, policy: TurnaroundPolicy) -> Observed:
    """Fold one observed answer time into a body's running figure."""
    seconds = max(seconds, 0.0)
    if previous is None or previous.samples == 0:
        return Observed(mean_seconds=seconds, samples=1)
    mean = previous.mean_seconds + policy.smoothing * (seconds - previous.mean_seconds)
    return Observed(mean_seconds=mean, samples=previous.samples + 1)


def body_turnaround(
    configured_seconds: float, observed: Observed | None, policy: TurnaroundPolicy
) -> timedelta:
    """The observed figure once there are enough samples, else the configured one."""
    if observed is not None and observed.samples >= policy.min_samples:
        return timedelta(seconds=observed.mean_seconds)
    return timedelta(seconds=configured_seconds)


def expected_completion(
    accepted_at: datetime,
    body_ids: Sequence[str],
    configured_seconds: Mapping[str, float],
    observed: Mapping[str, Observed],
    policy: TurnaroundPolicy,
    reported_by_verifier: datetime | None = None,
) -> datetime:
    """When a request should be decided: the verifier's own estimate once it has sent one
    (it knows about retries and parked enquiries), else the slowest of the request's bodies."""
    if reported_by_verifier is not None:
        return reported_by_verifier
    turnarounds = [
        body_turnaround(configured_seconds[body], observed.get(body), policy) for body in body_ids
    ]
    return estimate_completion(accepted_at, turnarounds)
