"""An employer's deliveries (webhooks and e-mails) and their replay, and the addresses its
notifications are e-mailed to.

Delivery state belongs to the notifier, which publishes each delivery's state on
`employer.deliveries.v1` after every attempt and replay; intake shows its own projection of
those events and asks for a replay with `DeliveryReplayRequested` through its outbox, so
employers never reach the notifier and intake never waits for it. The API
(`GET /v1/webhooks/deliveries`, `POST .../{id}/replay`) and the employer pages both use this.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.store.deliveries import DeliveryLogStore, DeliveryRecord
from services.intake.store.webhook_settings import WebhookSettingsStore

# The notifier's delivery ids (`msg_` and 128 bits in hex); cursors are a PostgreSQL bigint.
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


class Deliveries:
    def __init__(self, log: DeliveryLogStore, settings: WebhookSettingsStore) -> None:
        self._log = log
        self._settings = settings

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
        records = await self._log.page(
            employer_id, status=status, request_id=request_id, limit=limit, before_seq=before
        )
        next_before = records[-1].seq if len(records) == limit else None
        return DeliveryPage(items=[_delivery(r) for r in records], next_before=next_before)

    async def replay(self, employer_id: UUID, delivery_id: str) -> Delivery:
        """Asks the notifier to send a finished delivery again with the same id (it leaves a
        pending one as it is); answers the delivery as known now."""
        record = await self._log.request_replay(employer_id, delivery_id)
        if record is None:
            raise NO_DELIVERY
        return _delivery(record)

    async def email_recipients(self, employer_id: UUID) -> list[str]:
        """The addresses the employer's notifications are e-mailed to."""
        return await self._settings.emails_of(employer_id)


def _delivery(record: DeliveryRecord) -> Delivery:
    return Delivery.model_validate(
        {**record.__dict__, "id": record.webhook_id}, from_attributes=False
    )
