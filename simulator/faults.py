"""Fault and latency policy (pure): what happens to the next request a body receives.

Every decision is drawn from its own RNG seeded by (seed, body id, sequence number), so the
same seed and the same request sequence give the same decisions, whatever other bodies see.
Only the token-bucket rate limit depends on time, and the clock is injected.
"""

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.bodies import require_body_id

FaultOutcome = Literal["pass", "unavailable", "error", "throttled"]
MalformedStyle = Literal["truncated", "missing_fields"]

_Z_99 = 2.3263478740408408  # standard normal quantile of 0.99
_LATENCY_CAP_FACTOR = 3.0  # no single draw exceeds 3 x p99, so tests stay bounded


class FaultConfig(BaseModel):
    """Faults for one body (or the global default). Rates are probabilities per request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_median_ms: float = Field(40.0, ge=0)
    latency_p99_ms: float = Field(150.0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)  # 500 answers
    throttle_rate: float = Field(0.0, ge=0, le=1)  # random 429 answers
    rate_limit_per_second: float | None = Field(None, gt=0)  # token bucket, None = unlimited
    rate_limit_burst: int = Field(5, ge=1)
    retry_after_seconds: int = Field(1, ge=0)  # Retry-After of random 429s
    outage: bool = False  # every request gets 503 (SMTP: 451)
    malformed_rate: float = Field(0.0, ge=0, le=1)  # credential API only
    markup_changed: bool = False  # public register only
    enquiry_delay_days: float | None = Field(None, ge=0)  # None = the simulator's setting

    @model_validator(mode="after")
    def _p99_not_below_median(self) -> "FaultConfig":
        if self.latency_p99_ms < self.latency_median_ms:
            raise ValueError("latency_p99_ms must be >= latency_median_ms")
        return self


@dataclass(frozen=True)
class FaultDecision:
    latency_seconds: float
    outcome: FaultOutcome
    retry_after_seconds: int
    malformed: MalformedStyle | None
    markup_changed: bool


def decide(
    config: FaultConfig,
    seed: int,
    body_id: str,
    sequence: int,
    rate_limit_wait: float | None = None,
) -> FaultDecision:
    """The fault decision for the `sequence`-th request to `body_id`.

    `rate_limit_wait` is how long the caller's token bucket says to wait (None if a token was
    available). All draws are made whatever the config, so one knob never shifts another.
    """
    rng = random.Random(f"faults|{seed}|{body_id}|{sequence}")
    latency = _draw_latency_ms(rng, config) / 1000.0
    error_draw, throttle_draw, malformed_draw, style_draw = (rng.random() for _ in range(4))
    outcome: FaultOutcome = "pass"
    retry_after = 0
    if config.outage:
        outcome = "unavailable"
    elif rate_limit_wait is not None:
        outcome, retry_after = "throttled", max(1, math.ceil(rate_limit_wait))
    elif error_draw < config.error_rate:
        outcome = "error"
    elif throttle_draw < config.throttle_rate:
        outcome, retry_after = "throttled", config.retry_after_seconds
    malformed: MalformedStyle | None = None
    if outcome == "pass" and malformed_draw < config.malformed_rate:
        malformed = "truncated" if style_draw < 0.5 else "missing_fields"
    return FaultDecision(latency, outcome, retry_after, malformed, config.markup_changed)


def _draw_latency_ms(rng: random.Random, config: FaultConfig) -> float:
    median, p99 = config.latency_median_ms, config.latency_p99_ms
    draw = rng.lognormvariate(0.0, 1.0)  # always drawn, keeps the sequence aligned
    if median <= 0:
        return 0.0
    sigma = math.log(p99 / median) / _Z_99 if p99 > median else 0.0
    return min(median * math.pow(draw, sigma), p99 * _LATENCY_CAP_FACTOR)


@dataclass
class TokenBucket:
    """A per-body request budget refilled at `rate` tokens a second, up to `burst`."""

    tokens: float
    updated_at: float

    def take(self, now: float, rate: float, burst: int) -> float | None:
        """Spends a token; returns None on success or the seconds until one is available."""
        self.tokens = min(float(burst), self.tokens + (now - self.updated_at) * rate)
        self.updated_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate


@dataclass
class FaultBook:
    """The live fault configuration: a global default plus per-body partial overrides.

    An override holds only the fields it sets; the rest come from the default at lookup time.
    Setting or clearing an override restarts that body's decision sequence at 0, so a test
    that configures a body gets a reproducible sequence.
    """

    seed: int
    default: FaultConfig = field(default_factory=FaultConfig)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], float] = field(default=lambda: 0.0)
    _sequences: dict[str, int] = field(default_factory=dict, init=False)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, init=False)
    _startup_default: FaultConfig = field(default_factory=FaultConfig, init=False)

    def __post_init__(self) -> None:
        self._startup_default = self.default
        for body_id, override in list(self.overrides.items()):
            self.set_override(body_id, override)

    def effective(self, body_id: str) -> FaultConfig:
        override = self.overrides.get(body_id)
        if not override:
            return self.default
        return self.default.model_copy(update=override)

    def set_override(self, body_id: str, override: Mapping[str, Any]) -> FaultConfig:
        """Validates `override` merged over the default; raises pydantic.ValidationError."""
        merged = FaultConfig.model_validate({**self.default.model_dump(), **override})
        self.overrides[body_id] = {key: getattr(merged, key) for key in override}
        self._restart(body_id)
        return merged

    def clear_override(self, body_id: str) -> None:
        self.overrides.pop(body_id, None)
        self._restart(body_id)

    def set_default(self, config: FaultConfig) -> None:
        self.default = config
        self._sequences.clear()
        self._buckets.clear()

    def reset_default(self) -> None:
        self.set_default(self._startup_default)

    def next_decision(self, body_id: str) -> FaultDecision:
        config = self.effective(body_id)
        sequence = self._sequences.get(body_id, 0)
        self._sequences[body_id] = sequence + 1
        return decide(config, self.seed, body_id, sequence, self._rate_limit_wait(body_id, config))

    def _rate_limit_wait(self, body_id: str, config: FaultConfig) -> float | None:
        if config.rate_limit_per_second is None:
            return None
        now = self.clock()
        bucket = self._buckets.setdefault(body_id, TokenBucket(config.rate_limit_burst, now))
        return bucket.take(now, config.rate_limit_per_second, config.rate_limit_burst)

    def _restart(self, body_id: str) -> None:
        self._sequences.pop(body_id, None)
        self._buckets.pop(body_id, None)


def parse_fault_document(
    document: Mapping[str, Any],
    seed: int,
    clock: Callable[[], float],
    default: FaultConfig | None = None,
) -> FaultBook:
    """Builds a FaultBook from `{"default": {...}, "bodies": {"aws": {...}}}` (both optional).

    A `default` in the document is applied over `default` (the env-configured one).
    """
    unknown = set(document) - {"default", "bodies"}
    if unknown:
        raise ValueError(f"unknown keys in fault document: {sorted(unknown)}")
    base = default or FaultConfig()
    merged_default = FaultConfig.model_validate(
        {**base.model_dump(), **dict(document.get("default") or {})}
    )
    bodies = {
        require_body_id(str(body)): dict(override)
        for body, override in dict(document.get("bodies") or {}).items()
    }
    return FaultBook(seed=seed, default=merged_default, overrides=bodies, clock=clock)
