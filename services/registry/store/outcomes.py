"""Outcomes for the regions, recorded from `verification.verdicts.v1`, read by cursor.

Writers take one advisory lock per transaction so cursors become visible in order: a reader
that has seen cursor N never later finds a row below N appear (no gap left behind a slower
concurrent commit). Each new batch wakes the streams by NOTIFY.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.contracts.events import VerdictReached
from services.runtime.kafka import ConsumedEvent
from services.runtime.notifications import Notifications, Signal

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "registry_outcomes"
_WRITER_LOCK = 7_203_114_777  # any fixed number: serialises writers of the outcomes table


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    cursor: int
    request_id: UUID
    region: str
    qualification_id: str
    holder_ref: str
    verdict: str
    verification_code: str | None
    decided_at: datetime


class OutcomeStore:
    INSERT = (
        "INSERT INTO outcomes (event_id, request_id, region, qualification_id, holder_ref, "
        "verdict, verification_code, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (event_id) DO NOTHING"
    )
    AFTER = (
        "SELECT cursor, request_id, region, qualification_id, holder_ref, verdict, "
        "verification_code, decided_at FROM outcomes WHERE region = $1 AND cursor > $2 "
        "ORDER BY cursor LIMIT $3"
    )

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, consumed: list[ConsumedEvent]) -> None:
        """The consumer's handler: stores each verdict once (by event id), in one transaction."""
        verdicts = [c.event for c in consumed if isinstance(c.event, VerdictReached)]
        if not verdicts:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _WRITER_LOCK)
            await conn.executemany(self.INSERT, [_row(verdict) for verdict in verdicts])
            await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)

    async def after(self, region: str, cursor: int, limit: int = 500) -> list[StoredOutcome]:
        rows = await self._pool.fetch(self.AFTER, region, cursor, limit)
        return [StoredOutcome(**dict(row)) for row in rows]


def _row(verdict: VerdictReached) -> tuple[object, ...]:
    return (
        verdict.event_id,
        verdict.request_id,
        verdict.region,
        verdict.qualification_id,
        verdict.holder_ref,
        verdict.verdict.value,
        verdict.verification_code,
        verdict.decided_at,
    )


def outcome_signal(notifications: Notifications) -> Signal:
    """Wakes every waiting stream when new outcomes are committed."""
    return notifications.signal(NOTIFY_CHANNEL)
