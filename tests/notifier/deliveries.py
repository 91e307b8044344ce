"""An employer's deliveries as the notifier stores them (its delivery log is published as
DeliveryUpdated; the tests read the table behind it)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class DeliveryView:
    webhook_id: str
    request_id: UUID
    channel: str
    destination: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    replayed_at: datetime | None


async def deliveries_of(
    pool: asyncpg.Pool, employer_id: UUID, status: str | None = None
) -> list[DeliveryView]:
    """The employer's deliveries, newest first, account e-mails left out (as in its log)."""
    rows = await pool.fetch(
        "SELECT webhook_id, request_id, channel, url AS destination, event_type, status, "
        "attempts, last_error, next_attempt_at, replayed_at FROM deliveries "
        "WHERE employer_id = $1 AND channel <> 'account-email' "
        "AND ($2::text IS NULL OR status = $2) ORDER BY seq DESC",
        employer_id,
        status,
    )
    return [DeliveryView(**dict(row)) for row in rows]
