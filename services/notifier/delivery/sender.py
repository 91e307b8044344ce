"""Delivers queued notifications on their retry schedule, woken by PostgreSQL NOTIFY.

A delivery is recorded as delivered only after its channel accepted it, so a sender killed at
any instant sends it again later with the same id (receivers drop the duplicate), never
loses it and never sends a different message under that id.
"""

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from uuid import UUID

from services.notifier.delivery.transport import Failure, Transport
from services.notifier.domain.webhooks import next_attempt_delay
from services.notifier.store.repository import (
    DELIVERIES_CHANNEL,
    DueDelivery,
    NotifierStore,
)
from services.runtime.notifications import Notifications
from services.runtime.observability import ERRORS, error_site

log = logging.getLogger(__name__)


class DeliverySender:
    def __init__(
        self,
        store: NotifierStore,
        notifications: Notifications,
        transports: dict[str, Transport],
        *,
        time_scale: float = 1.0,
        lease_seconds: float = 30.0,
        max_in_flight: int = 200,
        max_in_flight_per_employer: int = 8,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self._store = store
        # Deliveries queued by this schema's handlers; also fired here when one finishes.
        self._due = notifications.signal(DELIVERIES_CHANNEL, own_schema=True)
        self._transports = transports
        self._time_scale = time_scale
        self._lease = lease_seconds
        self._max_in_flight = max_in_flight
        self._per_employer = max_in_flight_per_employer
        self._idle_poll = idle_poll_seconds
        self._in_flight: dict[asyncio.Task[None], UUID] = {}  # each task's employer
        self._busy: Counter[UUID] = Counter()  # deliveries in flight per employer

    async def run(self) -> None:
        """Sends until the database fails (run it under `keep_running`). Deliveries in flight
        go on meanwhile: each records its own result, or is sent again once its lease ends."""
        try:
            await self._loop()
        except asyncio.CancelledError:
            for task in self._in_flight:
                task.cancel()
            raise

    async def _loop(self) -> None:
        while True:
            change = self._due.next_change()
            room = self._max_in_flight - len(self._in_flight)
            claimed = await self._claim(room) if room > 0 else []
            for delivery in claimed:
                task = asyncio.create_task(self._deliver(delivery))
                self._in_flight[task] = delivery.employer_id
                self._busy[delivery.employer_id] += 1
                task.add_done_callback(self._finished)
            if not claimed:
                await self._sleep(change)

    def _finished(self, task: asyncio.Task[None]) -> None:
        employer_id = self._in_flight.pop(task)
        self._busy[employer_id] -= 1
        if not self._busy[employer_id]:
            del self._busy[employer_id]
        self._due.fire()  # its successor for the same request may now be due
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("delivery task failed", extra=error_site(error))

    async def _claim(self, room: int) -> list[DueDelivery]:
        """Every employer's share first; then, with nobody else waiting, more for whoever has
        more due, as long as a share's worth of slots stays free for an employer arriving
        meanwhile (so a hanging receiver still cannot take the last free slots)."""
        claimed = await self._store.claim_due(room, self._lease, self._busy, self._per_employer)
        spare = room - len(claimed) - self._per_employer
        if spare > 0:
            busy = self._busy + Counter(delivery.employer_id for delivery in claimed)
            claimed += await self._store.claim_due(spare, self._lease, busy)
        return claimed

    async def _sleep(self, change: asyncio.Event) -> None:
        timeout = self._idle_poll
        # With deliveries in flight, each one finishing wakes the loop; asking the database
        # when the next is due would then cost a scan of the backlog per delivery.
        if not self._in_flight:
            until_due = await self._store.seconds_until_next_due()
            if until_due is not None:
                timeout = min(timeout, until_due)
        await self._due.wait(change, timeout)

    async def _deliver(self, delivery: DueDelivery) -> None:
        transport = self._transports[delivery.channel]
        try:
            failure = await transport.send(delivery)
        except Exception as error:
            # An unforeseen error is an attempt like any other: without this the lease would
            # expire and the delivery be retried forever. Only the class is kept: a message
            # may quote the destination.
            failure = Failure(type(error).__name__)
        if failure is None:
            await self._store.mark_delivered(delivery.webhook_id)
            return
        await self._record_failure(delivery, failure)

    async def _record_failure(self, delivery: DueDelivery, failure: Failure) -> None:
        ERRORS.labels(f"{delivery.channel}_delivery").inc()
        delay = (
            None if failure.final else next_attempt_delay(delivery.attempts + 1, self._time_scale)
        )
        next_at = None if delay is None else datetime.now(UTC) + delay
        log.warning(
            "delivery failed",
            extra={
                "webhook_id": delivery.webhook_id,
                "channel": delivery.channel,
                "error": failure.error,
                "final": next_at is None,
            },
        )
        await self._store.mark_failed_attempt(delivery.webhook_id, failure.error, next_at)
