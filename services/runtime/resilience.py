"""Riding out PostgreSQL and Kafka outages: long-lived loops that restart themselves, and
start-up steps that wait for their dependency instead of crashing.

A loop that fails with a transient error (the database or broker unreachable, a connection
the server closed) is restarted after an exponential backoff with jitter, for as long as the
outage lasts; meanwhile it counts as not ready. Any other error is a bug: it propagates, the
service stops, and the supervisor restarts the process, so nothing runs on unnoticed.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)

DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect or pool acquire timed out
    asyncpg.PostgresConnectionError,  # the server closed the connection
    asyncpg.InterfaceError,  # the connection is closed or was lost mid-operation
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
    asyncpg.exceptions.TooManyConnectionsError,
    # What asyncpg raises on a connection the server terminated mid-transaction ("cannot switch
    # to state ..."); the pool then discards that connection. Seen in the outage test.
    asyncpg.InternalClientError,
)
"""Errors that mean PostgreSQL cannot be reached right now, not that the request is wrong."""

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    *DATABASE_UNREACHABLE,
    KafkaError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)
"""Errors that go away by themselves: worth retrying, never worth crashing for."""

LOOP_RESTARTS = Counter("loop_restarts_total", "Loops restarted after a transient error", ["loop"])

T = TypeVar("T")


class LoopState(StrEnum):
    RUNNING = "running"
    RETRYING = "retrying"  # waiting out an outage
    STOPPED = "stopped"  # ended, or failed with a bug


class Loops:
    """The state of a service's long-lived loops, for its liveness and readiness."""

    def __init__(self) -> None:
        self._states: dict[str, LoopState] = {}

    def mark(self, name: str, state: LoopState) -> None:
        self._states[name] = state

    def states(self) -> dict[str, str]:
        return {name: state.value for name, state in self._states.items()}

    def all_running(self) -> bool:
        return all(state is LoopState.RUNNING for state in self._states.values())

    def any_stopped(self) -> bool:
        return any(state is LoopState.STOPPED for state in self._states.values())


@dataclass(frozen=True)
class Backoff:
    """`healthy_after`: a loop that ran this long before failing starts its backoff afresh."""

    initial_seconds: float = 0.2
    max_seconds: float = 5.0
    jitter_seconds: float = 0.5
    healthy_after_seconds: float = 30.0

    def retrying(self, on_retry: Callable[[RetryCallState], None]) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            wait=wait_exponential_jitter(
                multiplier=self.initial_seconds, max=self.max_seconds, jitter=self.jitter_seconds
            ),
            stop=stop_never,
            before_sleep=on_retry,
            reraise=True,
        )


async def keep_running(
    name: str, loop: Callable[[], Awaitable[None]], loops: Loops, backoff: Backoff = Backoff()
) -> None:
    """Runs `loop()` until it returns, restarting it after each transient failure."""

    def on_retry(state: RetryCallState) -> None:
        loops.mark(name, LoopState.RETRYING)
        _log_restart(name, state)

    try:
        ended = False
        while not ended:
            async for attempt in backoff.retrying(on_retry):
                with attempt:
                    ended = await _run_once(name, loop, loops, backoff.healthy_after_seconds)
    finally:
        loops.mark(name, LoopState.STOPPED)


async def _run_once(
    name: str, loop: Callable[[], Awaitable[None]], loops: Loops, healthy_after: float
) -> bool:
    """True if the loop ended by itself; False if it failed after a long healthy run."""
    loops.mark(name, LoopState.RUNNING)
    started = time.monotonic()
    try:
        await loop()
    except TRANSIENT_ERRORS as error:
        if time.monotonic() - started < healthy_after:
            raise
        loops.mark(name, LoopState.RETRYING)
        LOOP_RESTARTS.labels(name).inc()
        log.warning("loop failed, restarting", extra={"loop": name, "error": describe(error)})
        return False
    return True


def describe(error: BaseException | None) -> str:
    """For logs, never an error's text where it may carry personal data: a database error's
    message may quote the row (names included), so only its class and SQLSTATE; a transient
    error (connection refused, broker unreachable) in full; any other error (a handler's
    ValueError may quote the record it choked on) by its class alone."""
    if error is None:
        return "None"
    if isinstance(error, asyncpg.PostgresError):
        return f"{type(error).__name__} (SQLSTATE {error.sqlstate})"
    if isinstance(error, TRANSIENT_ERRORS):
        return repr(error)
    return type(error).__name__


def _log_restart(name: str, state: RetryCallState) -> None:
    LOOP_RESTARTS.labels(name).inc()
    error = state.outcome.exception() if state.outcome is not None else None
    delay = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning(
        "loop failed, restarting after a pause",
        extra={
            "loop": name,
            "error": describe(error),
            "attempt": state.attempt_number,
            "retry_in_seconds": round(delay, 2),
        },
    )


async def until_available(
    what: str, step: Callable[[], Awaitable[T]], backoff: Backoff = Backoff()
) -> T:
    """Runs a start-up `step` (connect, migrate, create topics...) until its dependency
    answers, however long that takes; other errors propagate."""

    def on_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "waiting for a dependency",
            extra={"step": what, "error": describe(error), "attempt": state.attempt_number},
        )

    async for attempt in backoff.retrying(on_retry):
        with attempt:
            return await step()
    raise AssertionError("unreachable: the retrying never stops")
