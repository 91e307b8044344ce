"""A circuit breaker per awarding body: stop hammering a body that is down. Pure (the caller
passes the clock), so its behaviour is tested without waiting."""

from dataclasses import dataclass


@dataclass
class CircuitBreaker:
    """Closed: calls flow. Open (after `failure_threshold` failures in a row): callers wait
    `open_seconds`. Then half-open: one probe call; success closes, failure reopens."""

    failure_threshold: int
    open_seconds: float
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

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
        return self.opened_at is not None

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            self.opened_at = now
            self.probing = False
