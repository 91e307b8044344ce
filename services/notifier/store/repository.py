"""PostgreSQL repository of the notifier: endpoints, deliveries, processed events, outbox."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid5

import asyncpg
import orjson

from services.contracts.events import (
    EmployerWebhooksConfigured,
    OutcomePublished,
    VerdictReached,
)
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class DueDelivery:
    webhook_id: str
    url: str
    secret: str
    payload: bytes
    attempts: int


class NotifierStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _first_time(self, conn: Connection, event_id: UUID) -> bool:
        return bool(
            await conn.fetchval(
                "INSERT INTO processed_events (event_id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event_id,
            )
        )

    async def accept_verdict(self, verdict: VerdictReached, traceparent: str | None) -> None:
        """Queue a webhook per endpoint and the regional outcome, once per event."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self._first_time(conn, verdict.event_id):
                return
            endpoints = await conn.fetch(
                "SELECT url FROM webhook_endpoints WHERE employer_id = $1", verdict.employer_id
            )
            payload = webhook_payload(verdict)
            await conn.executemany(
                "INSERT INTO deliveries (webhook_id, employer_id, request_id, url, payload) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                [
                    (
                        "msg_" + uuid5(verdict.event_id, row["url"]).hex,
                        verdict.employer_id,
                        verdict.request_id,
                        row["url"],
                        payload,
                    )
                    for row in endpoints
                ],
            )
            await write_outbox(conn, [outcome_of(verdict)], traceparent)

    async def configure_endpoints(self, event: EmployerWebhooksConfigured) -> None:
        """Replace an employer's endpoints, unless a newer configuration is already stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            newest = await conn.fetchval(
                "SELECT max(configured_at) FROM webhook_endpoints WHERE employer_id = $1",
                event.employer_id,
            )
            if newest is not None and newest > event.occurred_at:
                return
            await conn.execute(
                "DELETE FROM webhook_endpoints WHERE employer_id = $1", event.employer_id
            )
            await conn.executemany(
                "INSERT INTO webhook_endpoints (employer_id, url, secret, configured_at) "
                "VALUES ($1, $2, $3, $4)",
                [(event.employer_id, e.url, e.secret, event.occurred_at) for e in event.endpoints],
            )

    async def claim_due(self, limit: int, lease_seconds: float) -> list[DueDelivery]:
        """Due deliveries, oldest first per request and endpoint, leased to this worker."""
        rows = await self._pool.fetch(_CLAIM_DUE, limit, lease_seconds)
        return [DueDelivery(**dict(row)) for row in rows]

    async def mark_delivered(self, webhook_id: str) -> None:
        await self._pool.execute(
            "UPDATE deliveries SET status = 'delivered', delivered_at = now(), "
            "attempts = attempts + 1, last_error = NULL WHERE webhook_id = $1",
            webhook_id,
        )

    async def mark_failed_attempt(
        self, webhook_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        await self._pool.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, "
            "status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END, "
            "next_attempt_at = coalesce($3, next_attempt_at) WHERE webhook_id = $1",
            webhook_id,
            error[:500],
            next_attempt_at,
        )


def webhook_payload(verdict: VerdictReached) -> bytes:
    return orjson.dumps(
        {
            "type": "verification.completed",
            "timestamp": verdict.decided_at.isoformat(),
            "data": {
                "request_id": str(verdict.request_id),
                "status": verdict.verdict.value,
                "verification_code": verdict.verification_code,
                "reason": verdict.reason.model_dump(),
                "checks": [c.model_dump(mode="json") for c in verdict.checks],
                "decided_at": verdict.decided_at.isoformat(),
            },
        }
    )


def outcome_of(verdict: VerdictReached) -> OutcomePublished:
    return OutcomePublished(
        request_id=verdict.request_id,
        region=verdict.region,
        qualification_id=verdict.qualification_id,
        holder_ref=verdict.holder_ref,
        verdict=verdict.verdict,
        verification_code=verdict.verification_code,
        decided_at=verdict.decided_at,
    )


_CLAIM_DUE = """
WITH due AS (
    SELECT d.webhook_id FROM deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND NOT EXISTS (
          SELECT 1 FROM deliveries earlier
          WHERE earlier.request_id = d.request_id AND earlier.url = d.url
            AND earlier.seq < d.seq AND earlier.status = 'pending'
      )
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET next_attempt_at = now() + make_interval(secs => $2)
FROM due, webhook_endpoints e
WHERE d.webhook_id = due.webhook_id AND e.employer_id = d.employer_id AND e.url = d.url
RETURNING d.webhook_id, d.url, e.secret, d.payload, d.attempts
"""
