"""A circuit breaker per awarding body: stop hammering a body that is down. Pure (the caller
passes the clock), so its behaviour is tested without waiting.

With several verifiers the breaker of each is kept in step with the others' (the adapter,
store/breakers.py, tells it): opened elsewhere, closed elsewhere, or its half-open probe taken
by another verifier until a given time."""

from dataclasses import dataclass
from enum import StrEnum


class Probe(StrEnum):
    """Who probes a half-open breaker, as the verifiers agreed."""

    MINE = "mine"  # this verifier does
    TAKEN = "taken"  # another does, or it is still open: wait `wait_seconds`
    CLOSED = "closed"  # closed elsewhere meanwhile: call as usual


@dataclass(frozen=True)
class ProbeClaim:
    outcome: Probe
    wait_seconds: float = 0.0


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
    probing: bool = False  # this process's probe is in flight
    closed_at: float | None = None  # when it last closed again after being open
    probe_elsewhere_until: float | None = None  # another verifier probes until then

    def wait_seconds(self, now: float) -> float:
        """0 when a call may go ahead now (and, half-open, take the probe); else how long to
        wait before asking again."""
        if self.opened_at is None:
            return 0.0
        remaining = self.opened_at + self.open_seconds - now
        if remaining > 0:
            return remaining
        if self.probing or self._probed_elsewhere(now):  # look again shortly
            return min(self.open_seconds, 1.0) / 4
        self.probing = True
        return 0.0

    def _probed_elsewhere(self, now: float) -> bool:
        return self.probe_elsewhere_until is not None and now < self.probe_elsewhere_until

    @property
    def is_probing(self) -> bool:
        """Whether the caller that was just let through while open takes the probe."""
        return self.opened_at is not None and self.probing

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
        self.probe_elsewhere_until = None

    def record_failure(self, now: float) -> bool:
        """Counts a failure; True if it opened the breaker (or opened it again)."""
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            opens = self.opened_at is None or self.probing
            self._open(now)
            return opens
        return False

    def release_probe(self) -> None:
        """The probe ended with neither verdict (the body was only busy): another may probe."""
        self.probing = False

    def opened_elsewhere(self, now: float, open_for: float) -> None:
        """Another verifier opened it, to stay open `open_for` seconds more."""
        self.failures = max(self.failures, self.failure_threshold)
        self._open(now - self.open_seconds + open_for)

    def closed_elsewhere(self, now: float) -> None:
        """Another verifier's probe succeeded."""
        if self.opened_at is not None and not self.probing:
            self.record_success(now)

    def probe_taken_elsewhere(self, now: float, for_seconds: float) -> None:
        """Another verifier holds the probe for `for_seconds`; this one waits meanwhile."""
        self.probing = False
        self.probe_elsewhere_until = now + for_seconds

    def _open(self, opened_at: float) -> None:
        self.opened_at = opened_at
        self.probing = False
        self.probe_elsewhere_until = None
