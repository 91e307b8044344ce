"""Applies every service's schema migrations, then exits: `python -m deploy.migrate`.

Run once before a rollout (the Kubernetes Job's `args: [deploy.migrate]`), with the services
started under `QV_MIGRATE_ON_START=false`: they wait until their schema holds every migration
they ship (services/runtime/startup.py). Each service is migrated on the database and schema it
uses itself: `<SERVICE>_DATABASE_URL`, else `DATABASE_URL`, and `<SERVICE>_SCHEMA_NAME` where
the service reads one (the registry's schema is fixed). Exits 0 when every schema is up to
date; a database that is away is waited for; a failing migration exits non-zero.
"""

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from services.console.store.paths import MIGRATIONS as CONSOLE_MIGRATIONS
from services.intake.store.repository import MIGRATIONS as INTAKE_MIGRATIONS
from services.notifier.store.repository import MIGRATIONS as NOTIFIER_MIGRATIONS
from services.registry.store import MIGRATIONS as REGISTRY_MIGRATIONS
from services.registry.store import SCHEMA as REGISTRY_SCHEMA
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.observability import configure_logging
from services.runtime.resilience import until_available
from services.verifier.store.repository import MIGRATIONS as VERIFIER_MIGRATIONS

log = logging.getLogger("deploy.migrate")


@dataclass(frozen=True)
class ServiceSchema:
    service: str
    schema: str  # the service's default
    migrations: Path
    schema_configurable: bool = True  # whether `<SERVICE>_SCHEMA_NAME` moves it

    @property
    def env_prefix(self) -> str:
        return f"{self.service.upper()}_"


SERVICES = (
    ServiceSchema("intake", "intake", INTAKE_MIGRATIONS),
    ServiceSchema("verifier", "verifier", VERIFIER_MIGRATIONS),
    ServiceSchema("registry", REGISTRY_SCHEMA, REGISTRY_MIGRATIONS, schema_configurable=False),
    ServiceSchema("notifier", "notifier", NOTIFIER_MIGRATIONS),
    ServiceSchema("console", "console", CONSOLE_MIGRATIONS),
)


class MigrateSettings(BaseSettings):
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("DATABASE_URL"),
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))


class ServiceDatabase(BaseSettings):
    """One service's own database variables, read under its prefix (`_env_prefix`)."""

    database_url: str | None = None
    schema_name: str | None = None


@dataclass(frozen=True)
class Target:
    service: str
    dsn: str
    schema: str
    migrations: Path


def targets(settings: MigrateSettings) -> list[Target]:
    """Where each service keeps its schema, read as the service itself reads it."""
    found = []
    for service in SERVICES:
        own = ServiceDatabase(_env_prefix=service.env_prefix)
        schema = (own.schema_name if service.schema_configurable else None) or service.schema
        dsn = own.database_url or settings.database_url
        found.append(Target(service.service, dsn, schema, service.migrations))
    return found


async def migrate(target: Target) -> list[str]:
    pool = await until_available(
        "database", lambda: create_pool(target.dsn, target.schema, min_size=1, max_size=1)
    )
    try:
        scripts = read_migrations(target.migrations)
        applied = await until_available("migrations", lambda: apply_migrations(pool, scripts))
    finally:
        await pool.close()
    log.info(
        "schema up to date",
        extra={"service": target.service, "schema": target.schema, "applied": applied},
    )
    return applied


async def migrate_all(settings: MigrateSettings) -> dict[str, list[str]]:
    """Every service's schema, one after the other (the migrations' advisory lock would
    serialise them anyway); what each newly applied."""
    return {target.service: await migrate(target) for target in targets(settings)}


def main() -> None:
    settings = MigrateSettings()
    configure_logging("migrate", settings.log_level)
    asyncio.run(migrate_all(settings))


if __name__ == "__main__":
    main()
