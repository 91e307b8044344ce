"""An employer's deliveries (webhooks and e-mails) and their replay, and the addresses its
notifications are e-mailed to.

Delivery state belongs to the notifier: this asks its internal API on behalf of the employer
intake authenticated, so employers never reach the notifier directly. The API
(`GET /v1/webhooks/deliveries`, `POST .../{id}/replay`) and the employer pages both use it.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

import httpx
from pydantic import BaseModel, Field

from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.settings import IntakeSettings

# The notifier's delivery ids (`msg_` and 128 bits in hex) and its cursors (PostgreSQL bigint).
DELIVERY_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
MAX_SEQ = 2**63 - 1
MAX_PAGE = 200
DeliveryStatus = Literal["pending", "delivered", "failed"]
NO_DELIVERY = Refusal(RefusalCode.NOT_FOUND, "未找到该投递记录", "No such delivery")


class Delivery(BaseModel):
    id: str = Field(description="The `webhook-id` (and e-mail Message-ID) of every attempt")
    request_id: UUID
    channel: Literal["webhook", "email"]
    destination: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    replayed_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_before: int | None = Field(description="Pass as `before` for the next page")


class NotificationsUnavailable(Exception):
    """The notifier did not answer (down, slow, or an error of its own): try again shortly."""


class Deliveries:
    def __init__(self, link: IntakeSettings) -> None:
        self._base = link.notifier_internal_url.rstrip("/") + "/internal/v1/employers"
        self._headers = {
            "Authorization": f"Bearer {link.notifier_internal_token.get_secret_value()}"
        }
        self._timeout = link.notifier_timeout_seconds
        self._client: httpx.AsyncClient | None = None

    async def page(
        self,
        employer_id: UUID,
        *,
        status: DeliveryStatus | None = None,
        request_id: UUID | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> DeliveryPage:
        """The employer's deliveries, newest first; `next_before` continues the listing."""
        params = {"limit": str(limit)}
        for name, value in (("status", status), ("request_id", request_id), ("before", before)):
            if value is not None:
                params[name] = str(value)
        response = await self._call("GET", f"/{employer_id}/deliveries", params)
        return DeliveryPage.model_validate_json(response.content)

    async def replay(self, employer_id: UUID, delivery_id: str) -> Delivery:
        """Send a finished delivery again with the same id (a pending one is left as it is)."""
        path = f"/{employer_id}/deliveries/{delivery_id}/replay"
        response = await self._call("POST", path, {}, missing_ok=True)
        if response.status_code == 404:
            raise NO_DELIVERY
        return Delivery.model_validate_json(response.content)

    async def email_recipients(self, employer_id: UUID) -> list[str]:
        """The addresses the notifier e-mails the employer's notifications to."""
        response = await self._call("GET", f"/{employer_id}/emails", {})
        addresses: list[str] = response.json()["addresses"]
        return addresses

    async def _call(
        self, method: str, path: str, params: dict[str, str], missing_ok: bool = False
    ) -> httpx.Response:
        """The notifier's answer (2xx, or 404 when `missing_ok`), or NotificationsUnavailable."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        try:
            response = await self._client.request(
                method, self._base + path, params=params, headers=self._headers
            )
        except httpx.HTTPError as error:
            raise NotificationsUnavailable from error
        if response.is_success or (missing_ok and response.status_code == 404):
            return response
        raise NotificationsUnavailable(f"the notifier answered {response.status_code}")
