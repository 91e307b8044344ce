"""Readiness checks of the dependencies a service needs."""

import asyncpg
from faststream.kafka import KafkaBroker

from services.runtime.observability import HealthCheck


def database_check(pool: asyncpg.Pool) -> HealthCheck:
    async def check() -> bool:
        return bool(await pool.fetchval("SELECT 1"))

    return check


def kafka_check(broker: KafkaBroker) -> HealthCheck:
    async def check() -> bool:
        # A round trip: cached metadata would still list the brokers of a broker that is down.
        return bool(await broker.ping(timeout=2.0))

    return check
