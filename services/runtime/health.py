"""Readiness checks of the dependencies a service needs."""

import asyncpg
from aiokafka import AIOKafkaProducer

from services.runtime.observability import HealthCheck


def database_check(pool: asyncpg.Pool) -> HealthCheck:
    async def check() -> bool:
        return bool(await pool.fetchval("SELECT 1"))

    return check


def kafka_check(producer: AIOKafkaProducer) -> HealthCheck:
    async def check() -> bool:
        # A round trip: cached metadata would still list the brokers of a broker that is down.
        metadata = await producer.client.fetch_all_metadata()
        return bool(metadata.brokers())

    return check
