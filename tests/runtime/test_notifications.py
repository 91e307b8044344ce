"""One LISTEN connection per process: signals wake on committed NOTIFYs only, payloads are
filtered by schema, and a lost connection is made good on reconnect (every signal fires,
every subscriber resynchronises)."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.runtime.db import create_pool
from services.runtime.notifications import Notifications, Signal
from services.runtime.resilience import Backoff, Loops, keep_running

QUICK = Backoff(initial_seconds=0.01, max_seconds=0.05, jitter_seconds=0.01)
SCHEMA = "listener"


@pytest_asyncio.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    # One connection: a LISTEN connection per channel would wait for a second one forever.
    pool = await create_pool(fresh_database, SCHEMA, min_size=1, max_size=1)
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def writer(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_database)
    yield conn
    await conn.close()


async def notify(conn: asyncpg.Connection, channel: str, payload: str = "") -> None:
    await conn.execute("SELECT pg_notify($1, $2)", channel, payload)


async def listening(notifications: Notifications, loops: Loops) -> asyncio.Task[None]:
    """Runs the notifications as a service does, and returns once they are listening."""
    task = asyncio.create_task(keep_running("notifications", notifications.run, loops, QUICK))
    async with asyncio.timeout(5):
        while not notifications.is_listening:
            await asyncio.sleep(0.01)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_signal_wakes_once_the_notifying_transaction_commits(
    pool: asyncpg.Pool, writer: asyncpg.Connection
) -> None:
    notifications = Notifications(pool)
    outbox = notifications.signal("outbox")
    task = await listening(notifications, Loops())
    try:
        change = outbox.next_change()
        async with writer.transaction():
            await notify(writer, "outbox")
            assert not await Signal.wait(change, 0.2)  # not before the commit
        assert await Signal.wait(change, 5)
    finally:
        await stop(task)


async def test_a_rolled_back_notify_wakes_nobody(
    pool: asyncpg.Pool, writer: asyncpg.Connection
) -> None:
    notifications = Notifications(pool)
    outbox = notifications.signal("outbox")
    task = await listening(notifications, Loops())
    try:
        change = outbox.next_change()
        transaction = writer.transaction()
        await transaction.start()
        await notify(writer, "outbox")
        await transaction.rollback()
        assert not await Signal.wait(change, 0.5)
    finally:
        await stop(task)


async def test_two_channels_are_heard_on_the_one_connection_of_the_pool(
    pool: asyncpg.Pool, writer: asyncpg.Connection
) -> None:
    notifications = Notifications(pool)
    outbox, outcomes = notifications.signal("outbox"), notifications.signal("outcomes")
    revoked: list[str] = []
    notifications.on("revoked", revoked.append, resync=lambda: None)
    task = await listening(notifications, Loops())
    try:
        changes = outbox.next_change(), outcomes.next_change()
        await notify(writer, "outbox")
        await notify(writer, "outcomes")
        await notify(writer, "revoked", "QV-1234")
        assert all([await Signal.wait(change, 5) for change in changes])
        async with asyncio.timeout(5):
            while not revoked:
                await asyncio.sleep(0.01)
        assert revoked == ["QV-1234"]
    finally:
        await stop(task)


async def test_only_notifications_of_its_own_schema_wake_a_schema_scoped_signal(
    pool: asyncpg.Pool, writer: asyncpg.Connection
) -> None:
    """Several services may share a database, so the outbox's NOTIFY names its schema."""
    notifications = Notifications(pool)
    ours = notifications.signal("outbox", own_schema=True)
    anyones = notifications.signal("outbox")
    revoked: list[str] = []
    notifications.on("keys_revoked", revoked.append, resync=lambda: None, own_schema=True)
    task = await listening(notifications, Loops())
    try:
        ours_changed, anyones_changed = ours.next_change(), anyones.next_change()
        await notify(writer, "outbox", "another_service")
        await notify(writer, "keys_revoked", "another_service:key-a")
        assert await Signal.wait(anyones_changed, 5)
        assert not await Signal.wait(ours_changed, 0.3)
        await notify(writer, "outbox", SCHEMA)
        await notify(writer, "keys_revoked", f"{SCHEMA}:key-b")
        assert await Signal.wait(ours_changed, 5)
        async with asyncio.timeout(5):
            while not revoked:
                await asyncio.sleep(0.01)
        assert revoked == ["key-b"]  # the detail, without the schema
    finally:
        await stop(task)


async def test_after_the_server_closes_the_connection_signals_fire_and_subscribers_resync(
    pool: asyncpg.Pool, writer: asyncpg.Connection
) -> None:
    notifications = Notifications(pool)
    outcomes = notifications.signal("outcomes")
    resyncs: list[str] = []
    revoked: list[str] = []
    notifications.on("revoked", revoked.append, resync=lambda: resyncs.append("resync"))
    loops = Loops()
    task = await listening(notifications, loops)
    try:
        assert resyncs == ["resync"]  # on the first connect too
        change = outcomes.next_change()
        await writer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            SCHEMA,
        )
        # Re-listening: what was committed meanwhile is re-read by everyone, once.
        assert await Signal.wait(change, 5)
        assert not await Signal.wait(outcomes.next_change(), 0.3)
        assert resyncs == ["resync", "resync"]
        await notify(writer, "revoked", "QV-5678")  # and it listens again
        async with asyncio.timeout(5):
            while not revoked:
                await asyncio.sleep(0.01)
    finally:
        await stop(task)


async def test_a_channel_registered_after_listening_began_is_refused(
    pool: asyncpg.Pool,
) -> None:
    """It would never be LISTENed on until the next reconnect."""
    notifications = Notifications(pool)
    notifications.signal("outbox")
    task = await listening(notifications, Loops())
    try:
        notifications.signal("outbox")  # a known channel is fine
        with pytest.raises(RuntimeError, match="after listening began"):
            notifications.signal("outcomes")
    finally:
        await stop(task)
