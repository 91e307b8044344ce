"""Posts one webhook, signed per Standard Webhooks with every secret still valid, through a
client that connects only to addresses the egress policy allows (`guarded_client`)."""

import time

import httpx

from services.notifier.delivery.transport import Failure
from services.notifier.domain.webhooks import signature_header
from services.notifier.store.repository import DueDelivery
from services.runtime.egress import refused_by_egress
from services.runtime.secret_box import SecretBox


class WebhookTransport:
    def __init__(
        self, client: httpx.AsyncClient, box: SecretBox, timeout_seconds: float = 10.0
    ) -> None:
        self._client = client
        self._box = box
        self._timeout = timeout_seconds

    async def send(self, delivery: DueDelivery) -> Failure | None:
        sealed = delivery.sealed_secrets()
        if not sealed:
            return Failure("endpoint removed", final=True)
        # Opened only here, for the signature: in clear nowhere else, never logged.
        secrets = [self._box.unseal(s, delivery.employer_id, delivery.url) for s in sealed]
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                secrets, delivery.webhook_id, timestamp, delivery.payload
            ),
        }
        try:
            response = await self._client.post(
                delivery.url, content=delivery.payload, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as error:
            if refused_by_egress(error):  # resolves to an internal address now: do not insist
                return Failure("forbidden destination", final=True)
            return Failure(type(error).__name__)
        if 200 <= response.status_code < 300:
            return None
        return Failure(f"HTTP {response.status_code}")
