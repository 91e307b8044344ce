"""PostgreSQL pools and schema migrations; each service owns one schema."""

import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
"""A connection, whether held directly or borrowed from a pool."""

# Any fixed 64-bit number: serialises concurrent migrators of the same database.
_MIGRATION_LOCK = 7_203_114_502


# Seconds to wait for a connection: a server that is away fails calls fast, never hangs them.
CONNECT_TIMEOUT = 5.0


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    await _ensure_schema(dsn, schema)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=CONNECT_TIMEOUT,
        reset=_keep_session,
        server_settings={"search_path": schema, "application_name": schema},
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skips asyncpg's reset round trip on every release: the services keep no session state
    (settings come at connect time, locks are transaction-scoped, listeners are removed by
    their owners)."""


async def _ensure_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # created concurrently by another process
    finally:
        await conn.close()


def read_migrations(directory: Path) -> list[tuple[str, str]]:
    """The `NNN_name.sql` files of a service, in order, as (name, sql)."""
    return [(path.name, path.read_text()) for path in sorted(directory.glob("*.sql"))]


async def apply_migrations(pool: asyncpg.Pool, scripts: list[tuple[str, str]]) -> list[str]:
    """Apply migrations once each, in order, under an advisory lock."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in scripts:
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    if applied:
        log.info("migrations applied", extra={"migrations": applied})
    return applied
