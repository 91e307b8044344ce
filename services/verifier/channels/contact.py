"""Contacting awarding bodies: every body of a certificate in parallel, each within its own
concurrency limit and circuit breaker, with retries and an overall deadline per body.

With several verifiers both hold across them: the limit is this verifier's share of the body's
concurrency (channels/limits.py), and the breaker's transitions are shared through a
`BreakerBoard` (store/breakers.py). The board is written only when a breaker opens, closes or
is probed; if PostgreSQL is away the breaker goes on alone, and no verification fails for it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter, Gauge

from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel, ChannelBook, ChannelType
from services.runtime.resilience import DATABASE_UNREACHABLE, describe
from services.verifier.channels.errors import RateLimited, TransientChannelError
from services.verifier.channels.limits import BodyLimits
from services.verifier.domain.body_health import DEFAULT_WINDOW_SECONDS, AttemptWindow, BodyHealth
from services.verifier.domain.breaker import CircuitBreaker, Probe, ProbeClaim
from services.verifier.domain.retries import backoff_delay
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

log = logging.getLogger(__name__)

BODY_CONTACTS = Counter(
    "verifier_body_contacts_total", "Final answers of awarding bodies", ["body", "status"]
)
BODY_ATTEMPTS_FAILED = Counter(
    "verifier_body_attempts_failed_total", "Attempts that failed and may be retried", ["body"]
)
BREAKER_WAITS = Counter(
    "verifier_breaker_waits_total", "Requests that waited for an open circuit breaker", ["body"]
)
BREAKER_OPEN = Gauge(
    "verifier_breaker_open",
    "1 while a body's circuit breaker is open or half-open in this verifier, else 0",
    ["body"],
)


# How long a breaker's transition may wait on PostgreSQL before the breaker goes on alone.
SHARED_BREAKER_TIMEOUT = 2.0

T = TypeVar("T")


class BreakerBoard(Protocol):
    """The breakers as every verifier shares them (store/breakers.py)."""

    async def opened(self, body_id: str, open_seconds: float) -> None: ...

    async def closed(self, body_id: str) -> None: ...

    async def claim_probe(self, body_id: str, hold_seconds: float) -> ProbeClaim: ...


class Channel(Protocol):
    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer: ...


WaitNotice = Callable[[str, datetime], Awaitable[None]]
"""Told (body id, expected completion) when a request starts waiting for a body that is down."""


@dataclass(frozen=True)
class Contacted:
    """One body's final answer, and when it was asked and answered (the evidence)."""

    answer: BodyAnswer
    asked_at: datetime
    seconds: float
    attempts: int


async def _no_notice(_body: str, _until: datetime) -> None:
    return None


class BodyContacts:
    def __init__(
        self,
        book: ChannelBook,
        bodies_base_url: str,
        channels: dict[ChannelType, Channel],
        *,
        backoff_base: float = 0.2,
        health_window_seconds: float = DEFAULT_WINDOW_SECONDS,
        limits: BodyLimits | None = None,
        board: BreakerBoard | None = None,
    ) -> None:
        """`limits`: this verifier's shares of the bodies' concurrency (default: alone, the
        whole of each); `board`: the breakers shared with other verifiers (default: none)."""
        self._book = book
        self._base_url = bodies_base_url
        self._channels = channels
        self._backoff_base = backoff_base
        self._health_window = health_window_seconds
        self._limits = limits or BodyLimits("alone", shared=False)
        self._board = board
        self._breakers: dict[str, CircuitBreaker] = {}
        self._health: dict[str, BodyHealth] = {}
        self._bound: dict[str, BodyChannel] = {}
        for body_id in book.bodies:
            BREAKER_OPEN.labels(body_id).set(0)

    def channel_of(self, body_id: str) -> BodyChannel:
        # Binding copies the profile (a pydantic model): once per body, not once per contact.
        channel = self._bound.get(body_id)
        if channel is None:
            channel = self._bound[body_id] = self._book.channel_of(body_id, self._base_url)
        return channel

    @property
    def health_window_seconds(self) -> float:
        return self._health_window

    def body_ids(self) -> list[str]:
        """Every body of the channel book, and any other this verifier has asked."""
        return sorted(set(self._book.bodies) | set(self._breakers))

    def health_of(self, body_id: str) -> BodyHealth:
        health = self._health.get(body_id)
        if health is None:
            health = BodyHealth(AttemptWindow(self._health_window))
            self._health[body_id] = health
        return health

    def record_late_answer(self, body_id: str, seconds: float) -> None:
        """A parked enquiry's answer arrived: how long the body took to give it."""
        self.health_of(body_id).record_answer(time.time(), seconds)

    def breaker_of(self, body_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(body_id)
        if breaker is None:
            config = self.channel_of(body_id)
            breaker = CircuitBreaker(config.failure_threshold, config.open_seconds)
            self._breakers[body_id] = breaker
        return breaker

    def apply_shared(self, body_id: str, open_for: float | None) -> None:
        """Another verifier opened (for `open_for` seconds more) or closed (None) the body's
        breaker: this one follows at once."""
        if body_id not in self._breakers and body_id not in self._book.bodies:
            return
        breaker = self.breaker_of(body_id)
        now = time.monotonic()
        if open_for is None:
            breaker.closed_elsewhere(now)
        else:
            breaker.opened_elsewhere(now, open_for)
        BREAKER_OPEN.labels(body_id).set(int(breaker.is_open))

    async def ask_all(
        self, request: VerificationRequested, on_wait: WaitNotice = _no_notice
    ) -> list[Contacted]:
        """Ask every awarding body at once; the slowest decides how long this takes."""
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self.ask(body, request, on_wait)) for body in request.body_ids
            ]
        return [task.result() for task in tasks]

    async def ask(
        self, body_id: str, request: VerificationRequested, on_wait: WaitNotice = _no_notice
    ) -> Contacted:
        config = self.channel_of(body_id)
        asked_at, started = datetime.now(UTC), time.perf_counter()
        attempts = [0]
        channel = self._channels.get(config.type)
        if channel is None:
            answer = BodyAnswer(
                body_id, config.type, BodyStatus.UNREACHABLE, detail="channel not available"
            )
        else:
            try:
                async with asyncio.timeout(config.deadline_seconds):
                    answer = await self._ask_with_retries(
                        body_id, config, channel, request, on_wait, attempts
                    )
            except TimeoutError:
                answer = BodyAnswer(
                    body_id,
                    config.type,
                    BodyStatus.UNREACHABLE,
                    detail=f"no answer within the {config.deadline_seconds:g}s deadline",
                )
        BODY_CONTACTS.labels(body_id, answer.status.value).inc()
        seconds = time.perf_counter() - started
        if answer.status not in (BodyStatus.PENDING, BodyStatus.UNREACHABLE):
            self.health_of(body_id).record_answer(time.time(), seconds)
        return Contacted(answer, asked_at, seconds, attempts[0])

    async def _ask_with_retries(
        self,
        body_id: str,
        config: BodyChannel,
        channel: Channel,
        request: VerificationRequested,
        on_wait: WaitNotice,
        attempts: list[int],
    ) -> BodyAnswer:
        limit = self._limits.limiter(body_id, config)
        breaker = self.breaker_of(body_id)
        detail = "not asked"
        for attempt in range(1, config.max_attempts + 1):
            probing = await self._wait_while_open(body_id, breaker, config, on_wait)
            retry_after: float | None = None
            slot = object()  # one token per call: a task may call the same body twice
            try:
                await limit.acquire_on_behalf_of(slot)
                try:
                    attempts[0] = attempt
                    answer = await self._attempt(body_id, config, channel, request)
                finally:
                    limit.release_on_behalf_of(slot)
                await self._succeeded(body_id, breaker)
                return answer
            except RateLimited as error:  # the body is up, only busy: not a breaker failure
                if probing:
                    breaker.release_probe()
                retry_after = error.retry_after_seconds
                detail = str(error)
            except TransientChannelError as error:
                await self._failed(body_id, breaker, config)
                detail = str(error)
            BODY_ATTEMPTS_FAILED.labels(body_id).inc()
            log.info("body attempt failed", extra={"body": body_id, "attempt": attempt})
            if attempt < config.max_attempts:
                await asyncio.sleep(backoff_delay(attempt, retry_after, base=self._backoff_base))
        return BodyAnswer(
            body_id,
            config.type,
            BodyStatus.UNREACHABLE,
            detail=f"{detail} (after {config.max_attempts} attempts)",
        )

    async def _succeeded(self, body_id: str, breaker: CircuitBreaker) -> None:
        was_open = breaker.is_open
        breaker.record_success(time.monotonic())
        BREAKER_OPEN.labels(body_id).set(0)
        if was_open and self._board is not None:
            await self._shared(body_id, self._board.closed(body_id))

    async def _failed(self, body_id: str, breaker: CircuitBreaker, config: BodyChannel) -> None:
        opened = breaker.record_failure(time.monotonic())
        BREAKER_OPEN.labels(body_id).set(int(breaker.is_open))
        if opened and self._board is not None:
            await self._shared(body_id, self._board.opened(body_id, config.open_seconds))

    async def _shared(self, body_id: str, step: Coroutine[Any, Any, T]) -> T | None:
        """A step of the shared breaker; None if PostgreSQL could not take it in time."""
        try:
            async with asyncio.timeout(SHARED_BREAKER_TIMEOUT):
                return await step
        except DATABASE_UNREACHABLE as error:
            log.warning(
                "breaker not shared, going on alone",
                extra={"body": body_id, "error": describe(error)},
            )
            return None

    async def _attempt(
        self, body_id: str, config: BodyChannel, channel: Channel, request: VerificationRequested
    ) -> BodyAnswer:
        """One call to the body, counted in its health window: an error, an answer that could
        not be read, or an attempt cut short (by the deadline) counts as failed."""
        failed = True
        try:
            answer = await channel.query(body_id, config, request)
            failed = answer.status == BodyStatus.UNREACHABLE
            return answer
        finally:
            self.health_of(body_id).record_attempt(time.time(), failed=failed)

    async def _wait_while_open(
        self, body_id: str, breaker: CircuitBreaker, config: BodyChannel, on_wait: WaitNotice
    ) -> bool:
        """An open breaker makes requests wait, not fail; they say when they expect to finish.
        True if this caller takes the half-open probe (one in the whole cluster)."""
        notified = False
        while True:
            wait = breaker.wait_seconds(time.monotonic())
            if wait <= 0:
                if not breaker.is_probing:
                    return False
                if await self._probe_is_mine(body_id, breaker, config):
                    return True
                continue
            if not notified:
                BREAKER_WAITS.labels(body_id).inc()
                expected = datetime.now(UTC) + timedelta(seconds=wait + config.turnaround_seconds)
                await on_wait(body_id, expected)
                notified = True
            await asyncio.sleep(wait)

    async def _probe_is_mine(
        self, body_id: str, breaker: CircuitBreaker, config: BodyChannel
    ) -> bool:
        """This verifier's probe, if the others agree (or cannot be asked); else it waits for
        theirs, or calls as usual if the breaker was closed meanwhile."""
        if self._board is None:
            return True
        hold = 2 * config.timeout_seconds  # one attempt, and some: then another may probe
        claim = await self._shared(body_id, self._board.claim_probe(body_id, hold))
        if claim is None or claim.outcome is Probe.MINE:
            return True
        breaker.release_probe()
        now = time.monotonic()
        if claim.outcome is Probe.CLOSED:
            breaker.closed_elsewhere(now)
            BREAKER_OPEN.labels(body_id).set(0)
        else:
            breaker.probe_taken_elsewhere(now, max(claim.wait_seconds, 0.05))
        return False
