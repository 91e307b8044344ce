"""Fixtures of the intake tests: one intake database per test module."""

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import intake_pool


@pytest_asyncio.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await intake_pool(module_database)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="module")
async def store(pool: asyncpg.Pool) -> IntakeStore:
    return IntakeStore(pool)
