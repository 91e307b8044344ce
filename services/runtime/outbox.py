"""Transactional outbox: events are written in the same transaction as the state change they
announce, and a relay publishes them to Kafka afterwards.

A relay that dies after publishing but before deleting republishes on restart; consumers
de-duplicate by event id, so nothing is lost and nothing takes effect twice.
"""

import asyncio
import logging
from collections.abc import Sequence

import asyncpg
import orjson

from services.contracts.events import Event, encode
from services.runtime.db import Connection
from services.runtime.messaging import Publishers
from services.runtime.notifications import Notifications, Signal
from services.runtime.observability import EVENTS_PRODUCED, OUTBOX_PENDING

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"


async def write_outbox(
    conn: Connection, events: Sequence[Event], traceparent: str | None = None
) -> None:
    """Add events to the outbox inside the caller's transaction."""
    await write_traced_outbox(conn, [(event, traceparent) for event in events])


async def write_traced_outbox(conn: Connection, events: Sequence[tuple[Event, str | None]]) -> None:
    """Add events, each with its own trace context, inside the caller's transaction."""
    rows = []
    for event, traceparent in events:
        value, headers = encode(event, traceparent)
        encoded_headers = orjson.dumps([[k, v.decode()] for k, v in headers]).decode()
        rows.append((event.topic.name, event.key(), value, encoded_headers))
    await conn.executemany(
        "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4::jsonb)", rows
    )
    # Delivered at commit; the payload names the schema so each relay wakes only for its own.
    await conn.execute("SELECT pg_notify($1, current_schema())", NOTIFY_CHANNEL)


def outbox_signal(notifications: Notifications) -> Signal:
    """Wakes the relay when this service's schema commits events to its outbox."""
    return notifications.signal(NOTIFY_CHANNEL, own_schema=True)


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publishers: Publishers,
        batch_size: int = 500,
        *,
        wakeup: Signal | None = None,
    ):
        """`publishers`: the service's FastStream publishers by topic (`declare_publishers`);
        they sign each record as the service. `wakeup`: the process's `outbox_signal`; without
        it the relay looks for new rows once a second."""
        self._pool = pool
        self._publishers = publishers
        self._batch_size = batch_size
        self._wakeup = wakeup or Signal()
        self._idle_poll_seconds = 1.0

    async def run(self) -> None:
        """Publishes until the database or broker fails (run it under `keep_running`); rows
        stay in the outbox until published, so a failure loses nothing."""
        while True:
            change = self._wakeup.next_change()
            published = await self.publish_batch()
            if published < self._batch_size:
                await self._wakeup.wait(change, self._idle_poll_seconds)

    async def publish_batch(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox "
                "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            if not rows:
                OUTBOX_PENDING.set(0)
                return 0
            sends = [await self._send(row) for row in rows]
            await asyncio.gather(*sends)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        for row in rows:
            EVENTS_PRODUCED.labels(row["topic"]).inc()
        OUTBOX_PENDING.set(len(rows) if len(rows) == self._batch_size else 0)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> "asyncio.Future[object]":
        """Queued on the producer (sent in its next batch); the returned future completes
        once the broker has the record."""
        headers = dict(orjson.loads(row["headers"]))
        future: asyncio.Future[object] = await self._publishers[row["topic"]].publish(
            row["value"], key=row["key"], headers=headers, no_confirm=True
        )
        return future
