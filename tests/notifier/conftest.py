"""Fixtures of the notifier's integration tests: its schema on a real PostgreSQL, an
employer's webhook endpoint and mailbox on real sockets."""

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from services.notifier.store.repository import MIGRATIONS
from services.runtime.db import apply_migrations, create_pool, read_migrations
from tests.notifier.receiver import RecordingEndpoint, recording_endpoint
from tests.notifier.smtp import Mailbox, running_mailbox


@pytest_asyncio.fixture
async def notifier_pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "notifier", max_size=6)
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest_asyncio.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    async with recording_endpoint() as recording:
        yield recording
