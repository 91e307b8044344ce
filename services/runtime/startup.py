"""Start-up of a service's dependencies that waits for PostgreSQL and Kafka to be up, however
long that takes, instead of crashing when they are not (yet) there."""

from pathlib import Path

import asyncpg

from services.runtime.db import apply_migrations, create_pool, read_migrations
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
