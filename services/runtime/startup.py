"""Start-up of a service's dependencies that waits for PostgreSQL and Kafka to be up, however
long that takes, instead of crashing when they are not (yet) there.

Schema migrations run at start-up by default. With `QV_MIGRATE_ON_START=false` (Kubernetes,
where `python -m deploy.migrate` runs as a Job before the rollout) a service applies none: it
waits until every migration file it ships is recorded in its schema, so a replica of a new
version never serves on an old schema and replicas never race to migrate.
"""

import asyncio
import logging
from pathlib import Path

import asyncpg
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.resilience import until_available

log = logging.getLogger(__name__)

MIGRATE_ON_START_VARIABLE = "QV_MIGRATE_ON_START"


class StartupSettings(BaseSettings):
    migrate_on_start: bool = Field(True, validation_alias=AliasChoices(MIGRATE_ON_START_VARIABLE))


async def open_database(
    dsn: str,
    schema: str,
    migrations: Path,
    *,
    min_size: int = 2,
    max_size: int = 10,
    migrate: bool | None = None,
    poll_seconds: float = 2.0,
) -> asyncpg.Pool:
    """A pool on the service's schema, migrated: by this process if `migrate` (default:
    `QV_MIGRATE_ON_START`), else by someone else, whom it waits for."""
    pool = await until_available(
        "database", lambda: create_pool(dsn, schema, min_size=min_size, max_size=max_size)
    )
    scripts = read_migrations(migrations)
    if StartupSettings().migrate_on_start if migrate is None else migrate:
        await until_available("migrations", lambda: apply_migrations(pool, scripts))
    else:
        await wait_until_migrated(pool, schema, [name for name, _ in scripts], poll_seconds)
    return pool


async def wait_until_migrated(
    pool: asyncpg.Pool, schema: str, names: list[str], poll_seconds: float
) -> None:
    """Returns once every migration in `names` is recorded in the schema's
    schema_migrations table; logs what it waits for, once per change."""
    said: list[str] | None = None
    while missing := await until_available("migrations", lambda: _missing(pool, names)):
        if missing != said:
            log.warning(
                "waiting for migrations applied by deploy.migrate",
                extra={"schema": schema, "missing": missing, "setting": "QV_MIGRATE_ON_START"},
            )
            said = missing
        await asyncio.sleep(poll_seconds)
    if said is not None:
        log.info("migrations found, starting", extra={"schema": schema})


async def _missing(pool: asyncpg.Pool, names: list[str]) -> list[str]:
    try:
        rows = await pool.fetch("SELECT name FROM schema_migrations")
    except asyncpg.UndefinedTableError:  # nothing applied yet
        return list(names)
    done = {row["name"] for row in rows}
    return [name for name in names if name not in done]
