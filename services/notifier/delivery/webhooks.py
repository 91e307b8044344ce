"""Delivers queued webhooks, signed per Standard Webhooks, retrying on the schedule."""

import asyncio
import logging
import time
from datetime import UTC, datetime

import httpx

from services.notifier.domain.webhooks import next_attempt_delay, sign
from services.notifier.store.repository import DueDelivery, NotifierStore
from services.runtime.observability import ERRORS

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(
        self,
        store: NotifierStore,
        client: httpx.AsyncClient,
        *,
        time_scale: float = 1.0,
        idle_poll_seconds: float = 0.05,
        batch_size: int = 100,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._store = store
        self._client = client
        self._time_scale = time_scale
        self._idle_poll = idle_poll_seconds
        self._batch_size = batch_size
        self._timeout = timeout_seconds

    async def run(self) -> None:
        while True:
            due = await self._store.claim_due(self._batch_size, lease_seconds=self._timeout * 3)
            if not due:
                await asyncio.sleep(self._idle_poll)
                continue
            await asyncio.gather(*(self._deliver(delivery) for delivery in due))

    async def _deliver(self, delivery: DueDelivery) -> None:
        error = await self._post(delivery)
        if error is None:
            await self._store.mark_delivered(delivery.webhook_id)
            return
        ERRORS.labels("webhook_delivery").inc()
        delay = next_attempt_delay(delivery.attempts + 1, self._time_scale)
        next_at = None if delay is None else datetime.now(UTC) + delay
        log.warning(
            "webhook delivery failed",
            extra={"webhook_id": delivery.webhook_id, "error": error, "final": next_at is None},
        )
        await self._store.mark_failed_attempt(delivery.webhook_id, error, next_at)

    async def _post(self, delivery: DueDelivery) -> str | None:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                delivery.secret, delivery.webhook_id, timestamp, delivery.payload
            ),
        }
        try:
            response = await self._client.post(
                delivery.url, content=delivery.payload, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as error:
            return type(error).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
