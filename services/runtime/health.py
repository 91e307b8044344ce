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
        # A round trip (DescribeCluster): cached metadata would still list a broker that is
        # down. Well inside the readiness check's own 2 s, so a probe gets its 503 in time.
        return bool(await broker.ping(timeout=1.0))

    return check
