"""Fixtures of the intake tests: one intake database per test module, and intake's broker
for the tests that publish through its outbox relay."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest_asyncio
from faststream.kafka import KafkaBroker, KafkaRouter

from services.contracts.topics import ALL_TOPICS
from services.intake.events.router import PUBLISHED
from services.intake.store.repository import IntakeStore
from services.runtime.messaging import Publishers, declare_publishers, new_broker, start_broker
from tests.infra import Infra
from tests.intake.support import intake_pool
from tests.signing import signer_of


@pytest_asyncio.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await intake_pool(module_database)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="module")
async def store(pool: asyncpg.Pool) -> IntakeStore:
    return IntakeStore(pool)


@dataclass(frozen=True)
class PublishingBroker:
    broker: KafkaBroker
    publishers: Publishers  # by topic, as the service's outbox relay gets them


@pytest_asyncio.fixture(scope="module")
async def intake_broker(infra: Infra) -> AsyncIterator[PublishingBroker]:
    """Intake's broker with its publishers and no subscriber (the tests' own consume)."""
    bootstrap = infra.kafka_bootstrap_servers
    router = KafkaRouter()
    publishers = declare_publishers(router, PUBLISHED)
    broker = new_broker(bootstrap, "intake", signer_of("intake"), routers=[router])
    await start_broker(broker, bootstrap, ALL_TOPICS)
    yield PublishingBroker(broker, publishers)
    await broker.stop()
