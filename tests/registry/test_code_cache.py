"""Lookups by code are answered from memory, yet a code revoked through any replica is never
shown as valid by another once the revocation is committed and announced."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest_asyncio

from services.registry.domain.codes import parse_code
from services.registry.store import MIGRATIONS
from services.registry.store.codes import CodeRepository
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.notifications import Notifications
from tests.registry.support import issue_code


@pytest_asyncio.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "registry")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


async def test_a_revocation_through_another_replica_evicts_the_cached_code(
    pool: asyncpg.Pool,
) -> None:
    replica_a, replica_b = CodeRepository(pool), CodeRepository(pool)
    notifications = Notifications(pool)
    replica_a.follow_revocations(notifications)
    following = asyncio.create_task(notifications.run())
    try:
        async with asyncio.timeout(5):
            while not notifications.is_listening:
                await asyncio.sleep(0.01)
        code_text = await issue_code(replica_b)
        code = parse_code(code_text)
        first = await replica_a.by_code(code)
        assert first is not None and first.revoked_at is None
        assert await replica_b.revoke(code, "fraud found", datetime.now(UTC)) is not None
        async with asyncio.timeout(5):
            while True:
                seen = await replica_a.by_code(code)
                assert seen is not None
                if seen.revoked_at is not None:
                    break
                await asyncio.sleep(0.02)
        assert seen.revocation_reason == "fraud found"
    finally:
        following.cancel()


async def test_cached_lookups_do_not_touch_the_database(pool: asyncpg.Pool) -> None:
    codes = CodeRepository(pool)
    code = parse_code(await issue_code(codes))
    assert await codes.by_code(code) is not None
    await pool.execute("ALTER TABLE verification_codes RENAME TO verification_codes_away")
    try:
        assert await codes.by_code(code) is not None
    finally:
        await pool.execute("ALTER TABLE verification_codes_away RENAME TO verification_codes")
