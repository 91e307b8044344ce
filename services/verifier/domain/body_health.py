"""How an awarding body has been doing lately, as this verifier saw it: attempts and failed
attempts over a sliding window, and its recent answer times. Pure (the caller passes the wall
clock, in seconds); recording is O(1), so it stays off the cost of a verification."""

import statistics
from collections import deque
from dataclasses import dataclass, field

DEFAULT_WINDOW_SECONDS = 300.0
BUCKETS = 30
KEPT_ANSWER_TIMES = 50


@dataclass(frozen=True)
class AttemptCounts:
    attempts: int
    failed: int

    @property
    def error_rate(self) -> float | None:
        """Failed share of the attempts; None when there were none."""
        return self.failed / self.attempts if self.attempts else None


class AttemptWindow:
    """Counts over the last `window_seconds`, in `BUCKETS` slots of a ring: a slot is reused
    once its time has passed, so neither recording nor reading grows with the traffic."""

    def __init__(self, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.window_seconds = window_seconds
        self._slot_seconds = window_seconds / BUCKETS
        self._epochs = [-1] * BUCKETS
        self._attempts = [0] * BUCKETS
        self._failed = [0] * BUCKETS

    def record(self, now: float, *, failed: bool) -> None:
        epoch = int(now // self._slot_seconds)
        slot = epoch % BUCKETS
        if self._epochs[slot] != epoch:
            self._epochs[slot], self._attempts[slot], self._failed[slot] = epoch, 0, 0
        self._attempts[slot] += 1
        self._failed[slot] += int(failed)

    def counts(self, now: float) -> AttemptCounts:
        current = int(now // self._slot_seconds)
        live = [i for i, epoch in enumerate(self._epochs) if current - BUCKETS < epoch <= current]
        return AttemptCounts(
            attempts=sum(self._attempts[i] for i in live),
            failed=sum(self._failed[i] for i in live),
        )


@dataclass(frozen=True)
class AnswerTime:
    at: float  # when the answer came, wall clock (seconds since the epoch)
    seconds: float  # how long the body took, retries included


@dataclass(frozen=True)
class AnswerTimes:
    """Percentiles of the last answers kept (at most `KEPT_ANSWER_TIMES`), and the last few."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    last: tuple[AnswerTime, ...]


@dataclass
class BodyHealth:
    window: AttemptWindow = field(default_factory=AttemptWindow)
    answers: deque[AnswerTime] = field(default_factory=lambda: deque(maxlen=KEPT_ANSWER_TIMES))

    def record_attempt(self, now: float, *, failed: bool) -> None:
        self.window.record(now, failed=failed)

    def record_answer(self, now: float, seconds: float) -> None:
        self.answers.append(AnswerTime(now, max(seconds, 0.0)))

    def answer_times(self, last: int = 10) -> AnswerTimes:
        seconds = [a.seconds for a in self.answers]
        p50, p90 = _percentiles(seconds)
        newest_first = tuple(reversed(self.answers))[:last]
        return AnswerTimes(len(seconds), p50, p90, newest_first)


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values), deciles[8]
