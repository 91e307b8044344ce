"""Watching the flow of verifications: the report over a window (from the projection, with
the awarding bodies' promised answer times from the verifier when it answers), the requests
behind each number, opening one request (the unmasked name, audited), and the
`qv_verifications_stuck` gauge."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from prometheus_client import Gauge

from services.console.domain.bodies import BodiesError, BodiesReport
from services.console.domain.flow import (
    FlowReport,
    FlowStage,
    RequestFlow,
    StuckRules,
    in_stage,
    stuck,
    summarize,
    through_hop,
)
from services.console.domain.roles import Operator
from services.console.store.audit import AuditLog
from services.console.store.projection import Projection, RequestDetail
from services.runtime.resilience import TRANSIENT_ERRORS, describe

log = logging.getLogger(__name__)

STUCK = Gauge(
    "qv_verifications_stuck",
    "Verifications not finished and past their expected time (see the console's flow page)",
)
# Unfinished requests read at most to find the stuck ones, oldest first.
UNFINISHED_LIMIT = 10_000
_PROMISE_TTL_SECONDS = 60.0
# A report is reused this long (the pages refresh every 5 s).
VIEW_TTL_SECONDS = 2.0
_UNAVAILABLE: tuple[type[Exception], ...] = (BodiesError, *TRANSIENT_ERRORS)


class BodyPromises(Protocol):
    """The verifier's operator API (`adapters.verifier.VerifierOps`)."""

    async def bodies(self) -> BodiesReport: ...


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FlowView:
    report: FlowReport
    promises_known: bool  # the verifier told the bodies' promised answer times


@dataclass(frozen=True)
class OpenedRequest:
    detail: RequestDetail
    name: str | None  # unmasked: only for a role that may act, and audited


class FlowWatch:
    def __init__(
        self,
        projection: Projection,
        audit: AuditLog,
        verifier: BodyPromises | None,
        *,
        max_rows: int,
        rules: StuckRules,
        clock: Clock = utc_now,
    ) -> None:
        self._projection = projection
        self._audit = audit
        self._verifier = verifier
        self._max_rows = max_rows
        self._rules = rules
        self._clock = clock
        self._promised: dict[str, float] = {}
        self._promised_until = 0.0
        self._views: dict[timedelta, tuple[float, FlowView]] = {}

    async def view(self, window: timedelta) -> FlowView:
        """The report over the window; kept a moment, so that the pages and fragments of
        several browsers refreshing together cost one computation."""
        cached = self._views.get(window)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        now = self._clock()
        start = now - window
        async with asyncio.TaskGroup() as group:  # each query on a connection of its own
            counts = group.create_task(self._projection.funnel(start))
            hops = group.create_task(self._projection.hops(start, now))
            bodies = group.create_task(self._projection.bodies(start))
            unfinished = group.create_task(self._projection.unfinished(UNFINISHED_LIMIT))
            promises = group.create_task(self._promises())
        promised = promises.result()
        report = summarize(
            counts.result(),
            hops.result(),
            bodies.result(),
            unfinished.result(),
            window_start=start,
            now=now,
            promised=promised,
            rules=self._rules,
        )
        STUCK.set(len(report.stuck))
        view = FlowView(report, bool(promised))
        self._views[window] = (time.monotonic() + VIEW_TTL_SECONDS, view)
        return view

    async def arrivals(
        self, window: timedelta, slot_seconds: int
    ) -> tuple[datetime, dict[tuple[FlowStage, int], int]]:
        """The window's start and the arrivals at each stage per slot of `slot_seconds`."""
        start = self._clock() - window
        return start, await self._projection.arrivals(start, slot_seconds)

    async def behind(
        self, window: timedelta, stage: FlowStage, *, current: bool
    ) -> Sequence[RequestFlow]:
        """The requests behind a funnel number, newest first."""
        flows = await self._projection.accepted_since(self._clock() - window, self._max_rows)
        return in_stage(flows, stage, current=current)

    async def through(
        self, window: timedelta, source: FlowStage, target: FlowStage
    ) -> Sequence[RequestFlow]:
        """The requests behind a hop's number, newest first."""
        flows = await self._projection.accepted_since(self._clock() - window, self._max_rows)
        return through_hop(flows, source, target)

    async def count_stuck(self) -> int:
        unfinished = await self._projection.unfinished(UNFINISHED_LIMIT)
        return len(stuck(unfinished, self._clock(), self._rules))

    async def open(self, operator: Operator, request_id: UUID) -> OpenedRequest | None:
        """One request with its history; the holder's name unmasked for a role that may act,
        written to the audit log before it is shown."""
        detail = await self._projection.request(request_id)
        if detail is None:
            return None
        if not operator.may_act or detail.sealed_name is None:
            return OpenedRequest(detail, None)
        await self._audit.record(
            actor=operator.username,
            action="open-request",
            target=f"request:{request_id}",
            detail={"opened": "holder name", "qualification": detail.flow.qualification_id or ""},
        )
        return OpenedRequest(detail, self._projection.unseal_name(detail))

    async def _promises(self) -> dict[str, float]:
        """The bodies' promised answer times, kept a minute; none while the verifier is away."""
        if self._verifier is None or time.monotonic() < self._promised_until:
            return self._promised
        try:
            report = await self._verifier.bodies()
        except _UNAVAILABLE as error:
            log.warning("verifier promises unavailable", extra={"error": describe(error)})
            self._promised = {}
        else:
            self._promised = {b.body_id: b.expected_answer_seconds for b in report.bodies}
        self._promised_until = time.monotonic() + _PROMISE_TTL_SECONDS
        return self._promised


async def keep_stuck_gauge(watch: FlowWatch, every_seconds: float) -> None:
    """Recount `qv_verifications_stuck` for Prometheus, whether or not anyone looks."""
    while True:
        STUCK.set(await watch.count_stuck())
        await asyncio.sleep(every_seconds)


async def forget_names(
    projection: Projection, keep_days: float, every_seconds: float, clock: Clock = utc_now
) -> None:
    """Keeps holders' names (sealed) only `keep_days` after the request was accepted."""
    while True:
        forgotten = await projection.forget_names(clock() - timedelta(days=keep_days))
        if forgotten:
            log.info("holder names forgotten", extra={"requests": forgotten})
        await asyncio.sleep(every_seconds)
