"""Outcomes for the regions, recorded as each verdict is concluded, read by cursor.

Writers take one advisory lock per transaction so cursors become visible in order: a reader
that has seen cursor N never later finds a row below N appear (no gap left behind a slower
concurrent commit). Each new batch wakes the streams by NOTIFY.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.contracts.events import OutcomePublished
from services.runtime.db import Connection
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
    INSERT_ALL = (
        "INSERT INTO outcomes (event_id, request_id, region, qualification_id, holder_ref, "
        "verdict, verification_code, decided_at) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], "
        "$6::text[], $7::text[], $8::timestamptz[]) ON CONFLICT (event_id) DO NOTHING"
    )
    AFTER = (
        "SELECT cursor, request_id, region, qualification_id, holder_ref, verdict, "
        "verification_code, decided_at FROM outcomes WHERE region = $1 AND cursor > $2 "
        "ORDER BY cursor LIMIT $3"
    )

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, conn: Connection, outcomes: Sequence[OutcomePublished]) -> None:
        """Stores each outcome once (by event id) inside the caller's transaction; the
        streams wake when it commits."""
        if not outcomes:
            return
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _WRITER_LOCK)
        await conn.execute(self.INSERT_ALL, *zip(*map(_row, outcomes), strict=True))
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)

    async def after(self, region: str, cursor: int, limit: int = 500) -> list[StoredOutcome]:
        rows = await self._pool.fetch(self.AFTER, region, cursor, limit)
        return [StoredOutcome(**dict(row)) for row in rows]


def _row(outcome: OutcomePublished) -> tuple[object, ...]:
    return (
        outcome.event_id,
        outcome.request_id,
        outcome.region,
        outcome.qualification_id,
        outcome.holder_ref,
        outcome.verdict.value,
        outcome.verification_code,
        outcome.decided_at,
    )


def outcome_signal(notifications: Notifications) -> Signal:
    """Wakes every waiting stream when new outcomes are committed."""
    return notifications.signal(NOTIFY_CHANNEL)
