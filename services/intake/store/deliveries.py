"""Intake's projection of the employer's deliveries (webhooks and notification e-mails), from
the notifier's `DeliveryUpdated` events, and the replays asked of the notifier through the
outbox."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.contracts.events import DeliveryReplayRequested, DeliveryUpdated
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox


@dataclass(frozen=True)
class DeliveryRecord:
    webhook_id: str
    request_id: UUID
    channel: str
    destination: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    replayed_at: datetime | None
    seq: int


class DeliveryLogStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self,
        employer_id: UUID,
        *,
        status: str | None,
        request_id: UUID | None,
        limit: int,
        before_seq: int | None,
    ) -> list[DeliveryRecord]:
        """The employer's deliveries, newest first, before `before_seq` when given."""
        rows = await self._pool.fetch(_PAGE, employer_id, status, request_id, before_seq, limit)
        return [DeliveryRecord(**dict(row)) for row in rows]

    async def request_replay(self, employer_id: UUID, webhook_id: str) -> DeliveryRecord | None:
        """The delivery as projected, with its replay asked of the notifier in the same
        transaction; None (and nothing asked) when the employer has no such delivery. The
        notifier leaves a delivery still pending as it is."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_ONE, employer_id, webhook_id)
            if row is None:
                return None
            event = DeliveryReplayRequested(employer_id=employer_id, webhook_id=webhook_id)
            await write_outbox(conn, [event])
        return DeliveryRecord(**dict(row))


async def project_deliveries(conn: Connection, events: Sequence[DeliveryUpdated]) -> None:
    """Stores each delivery's latest state, in one statement inside the caller's transaction:
    an update older than the one stored (redelivered, or overtaken) changes nothing."""
    latest: dict[str, DeliveryUpdated] = {}
    for event in events:
        kept = latest.get(event.webhook_id)
        if kept is None or kept.updated_at < event.updated_at:
            latest[event.webhook_id] = event
    rows = [_values(event) for event in latest.values()]
    await conn.execute(_UPSERT, *[list(column) for column in zip(*rows, strict=True)])


def _values(event: DeliveryUpdated) -> tuple[object, ...]:
    return (
        event.webhook_id,
        event.employer_id,
        event.request_id,
        event.channel,
        event.destination,
        event.event_type,
        event.status.value,
        event.attempts,
        event.last_error,
        event.next_attempt_at,
        event.delivered_at,
        event.created_at,
        event.replayed_at,
        event.updated_at,
    )


_COLUMNS = (
    "webhook_id, request_id, channel, destination, event_type, status, attempts, last_error, "
    "next_attempt_at, delivered_at, created_at, replayed_at, seq"
)

_PAGE = f"""
SELECT {_COLUMNS} FROM deliveries
WHERE employer_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND ($3::uuid IS NULL OR request_id = $3)
  AND ($4::bigint IS NULL OR seq < $4)
ORDER BY seq DESC
LIMIT $5
"""

_ONE = f"SELECT {_COLUMNS} FROM deliveries WHERE employer_id = $1 AND webhook_id = $2"

_UPSERT = """
INSERT INTO deliveries (
    webhook_id, employer_id, request_id, channel, destination, event_type, status, attempts,
    last_error, next_attempt_at, delivered_at, created_at, replayed_at, updated_at
)
SELECT * FROM unnest(
    $1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::integer[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
    $13::timestamptz[], $14::timestamptz[]
)
ORDER BY 12  -- oldest first: the log's order (seq) follows the deliveries' creation
ON CONFLICT (webhook_id) DO UPDATE SET
    status = EXCLUDED.status, attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
    next_attempt_at = EXCLUDED.next_attempt_at, delivered_at = EXCLUDED.delivered_at,
    replayed_at = EXCLUDED.replayed_at, destination = EXCLUDED.destination,
    updated_at = EXCLUDED.updated_at
WHERE deliveries.updated_at < EXCLUDED.updated_at AND deliveries.employer_id = EXCLUDED.employer_id
"""
