"""Start-up of a service's dependencies that waits for PostgreSQL and Kafka to be up, however
long that takes, instead of crashing when they are not (yet) there."""

from collections.abc import Sequence
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from services.contracts.topics import TopicSpec
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.kafka import create_producer, ensure_topics
from services.runtime.resilience import until_available


async def open_database(
    dsn: str, schema: str, migrations: Path, *, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    """A pool on the service's schema, migrated."""
    pool = await until_available(
        "database", lambda: create_pool(dsn, schema, min_size=min_size, max_size=max_size)
    )
    scripts = read_migrations(migrations)
    await until_available("migrations", lambda: apply_migrations(pool, scripts))
    return pool


async def start_producer(
    bootstrap: str, client_id: str, topics: Sequence[TopicSpec]
) -> AIOKafkaProducer:
    """A started producer, once `topics` exist."""
    await until_available("kafka topics", lambda: ensure_topics(bootstrap, topics))
    producer = create_producer(bootstrap, client_id)
    await until_available("kafka producer", producer.start)
    return producer
