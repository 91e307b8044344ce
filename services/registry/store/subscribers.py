"""Who streams outcomes: one row per StreamOutcomes subscription, for the operators.

A stream only touches memory as it delivers (`Subscription.delivered`); one loop writes the
progress of every open subscription in one statement about once a second, closes those that
ended, and so also tells the living from the lost (a registry that died stops touching its
rows, and `last_seen_at` ages).
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.registry.domain.verifications import Region
from services.runtime.resilience import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)

BACKLOG_COUNTED_UP_TO = 10_000
_PRUNE_EVERY_SECONDS = 3600.0
_KEEP_CLOSED_DAYS = 30
_WRITE_FAILED: tuple[type[Exception], ...] = (*DATABASE_UNREACHABLE, asyncpg.PostgresError)


@dataclass(slots=True)
class Subscription:
    """An open stream's progress, kept in memory between writes."""

    id: int
    last_cursor: int
    delivered: int = 0
    closed: bool = False

    def deliver(self, cursor: int) -> None:
        self.last_cursor = cursor
        self.delivered += 1


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    id: int
    region: Region
    identity: str
    peer: str
    after_cursor: int
    last_cursor: int
    delivered: int
    connected_at: datetime
    last_seen_at: datetime
    disconnected_at: datetime | None
    connected: bool
    backlog: int


class SubscriberLog:
    OPEN = (
        "INSERT INTO outcome_subscribers (region, identity, peer, after_cursor, last_cursor) "
        "VALUES ($1, $2, $3, $4, $4) RETURNING id"
    )
    # One statement for every open subscription: progress, liveness, and the ends.
    WRITE = (
        "UPDATE outcome_subscribers AS s SET last_cursor = p.last_cursor, "
        "delivered = p.delivered, last_seen_at = now(), "
        "disconnected_at = CASE WHEN p.closed THEN now() ELSE NULL END "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bool[]) "
        "AS p(id, last_cursor, delivered, closed) WHERE s.id = p.id"
    )
    LIST = (
        "SELECT s.id, s.region, s.identity, s.peer, s.after_cursor, s.last_cursor, s.delivered, "
        "s.connected_at, s.last_seen_at, s.disconnected_at, "
        "(s.disconnected_at IS NULL AND s.last_seen_at > now() - make_interval(secs => $2)) "
        "AS connected, backlog.count AS backlog "
        "FROM outcome_subscribers AS s CROSS JOIN LATERAL ("
        "  SELECT count(*) AS count FROM (SELECT 1 FROM outcomes AS o "
        "  WHERE o.region = s.region AND o.cursor > s.last_cursor LIMIT $4) AS behind"
        ") AS backlog "
        "WHERE ($1::text IS NULL OR s.region = $1) "
        "ORDER BY connected DESC, s.last_seen_at DESC, s.id DESC LIMIT $3"
    )
    PRUNE = (
        "DELETE FROM outcome_subscribers WHERE disconnected_at < now() - make_interval(days => $1)"
    )

    def __init__(self, pool: asyncpg.Pool, write_every_seconds: float = 1.0) -> None:
        self._pool = pool
        self._every = write_every_seconds
        self._open: dict[int, Subscription] = {}

    @property
    def stale_after_seconds(self) -> float:
        """An unclosed subscription not seen for this long is counted as lost."""
        return max(10.0, 10 * self._every)

    async def open(
        self, region: Region, identity: str, peer: str, after_cursor: int
    ) -> Subscription:
        """Records a new subscription; its progress is then written by `run`."""
        subscription_id = await self._pool.fetchval(
            self.OPEN, region.value, identity, peer, after_cursor
        )
        subscription = Subscription(subscription_id, after_cursor)
        self._open[subscription_id] = subscription
        return subscription

    @staticmethod
    def close(subscription: Subscription) -> None:
        """Marks the end; the next write records it (no I/O: callers may be cancelled)."""
        subscription.closed = True

    async def run(self) -> None:
        """Writes progress every `write_every_seconds` until cancelled, then once more."""
        pruned_at = time.monotonic()
        try:
            while True:
                await asyncio.sleep(self._every)
                await self.write()
                if time.monotonic() - pruned_at >= _PRUNE_EVERY_SECONDS:
                    await self.prune()
                    pruned_at = time.monotonic()
        finally:
            await self._write_on_the_way_out()

    async def write(self) -> None:
        """Writes the progress of every open subscription, and the ends, in one statement."""
        if not self._open:
            return
        # A snapshot: streams go on delivering (and may end) while the statement runs.
        taken = [(s.id, s.last_cursor, s.delivered, s.closed) for s in self._open.values()]
        ids, cursors, delivered, closed = (list(column) for column in zip(*taken, strict=True))
        await self._pool.execute(self.WRITE, ids, cursors, delivered, closed)
        for subscription_id, ended in zip(ids, closed, strict=True):
            if ended:
                del self._open[subscription_id]

    async def prune(self) -> None:
        """Forgets subscriptions closed more than a month ago."""
        await self._pool.execute(self.PRUNE, _KEEP_CLOSED_DAYS)

    async def _write_on_the_way_out(self) -> None:
        try:
            await self.write()
        except _WRITE_FAILED as error:
            # The rows stay unclosed and age out as lost: nothing worse.
            log.warning("subscriber progress not written", extra={"error": type(error).__name__})

    async def list(self, region: Region | None, limit: int) -> list[SubscriberRecord]:
        rows = await self._pool.fetch(
            self.LIST,
            region.value if region else None,
            self.stale_after_seconds,
            limit,
            BACKLOG_COUNTED_UP_TO,
        )
        return [SubscriberRecord(**{**dict(row), "region": Region(row["region"])}) for row in rows]
