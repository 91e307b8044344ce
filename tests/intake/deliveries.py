"""The notifier's delivery updates as intake receives them, for tests of intake's delivery
log (projected as the consumer would, in one transaction)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.contracts.events import DeliveryStatus, DeliveryUpdated
from services.intake.store.deliveries import project_deliveries


def delivery_update(employer_id: UUID, **changes: Any) -> DeliveryUpdated:
    """A webhook delivery of a new request, pending its first attempt, unless `changes` say."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "webhook_id": f"msg_{uuid4().hex}",
        "employer_id": employer_id,
        "request_id": uuid4(),
        "channel": "webhook",
        "destination": "http://127.0.0.1:9/hooks/verification",
        "event_type": "verification.completed",
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    return DeliveryUpdated(**(values | changes))


def given_up(pending: DeliveryUpdated) -> DeliveryUpdated:
    """The same delivery after its last attempt failed."""
    return pending.model_copy(
        update={
            "event_id": uuid4(),
            "status": DeliveryStatus.FAILED,
            "attempts": pending.attempts + 1,
            "last_error": "ConnectError",
            "next_attempt_at": None,
            "updated_at": pending.updated_at + timedelta(seconds=1),
        }
    )


async def project(pool: asyncpg.Pool, *events: DeliveryUpdated) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await project_deliveries(conn, events)
