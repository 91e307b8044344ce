"""A circuit breaker per awarding body: stop hammering a body that is down. Pure (the caller
passes the clock), so its behaviour is tested without waiting."""

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Closed: calls flow. Open (after `failure_threshold` failures in a row): callers wait
    `open_seconds`. Then half-open: one probe call; success closes, failure reopens."""

    failure_threshold: int
    open_seconds: float
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    closed_at: float | None = None  # when it last closed again after being open

    def wait_seconds(self, now: float) -> float:
        """0 when a call may go ahead now (and, half-open, take the probe); else how long to
        wait before asking again."""
        if self.opened_at is None:
            return 0.0
        remaining = self.opened_at + self.open_seconds - now
        if remaining > 0:
            return remaining
        if self.probing:  # someone else is probing; look again shortly
            return min(self.open_seconds, 1.0) / 4
        self.probing = True
        return 0.0

    @property
    def is_open(self) -> bool:
        """Open or half-open: calls do not flow freely."""
        return self.opened_at is not None

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self.probing or now >= self.opened_at + self.open_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def state_since(self, now: float) -> float | None:
        """When the current state began, on the caller's clock; None: closed since it was made."""
        state = self.state(now)
        if self.opened_at is None:
            return self.closed_at
        if state is BreakerState.HALF_OPEN:
            return self.opened_at + self.open_seconds
        return self.opened_at

    def record_success(self, now: float) -> None:
        if self.opened_at is not None:
            self.closed_at = now
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            self.opened_at = now
            self.probing = False
