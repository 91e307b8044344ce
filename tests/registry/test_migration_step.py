"""A registry started with QV_MIGRATE_ON_START=false migrates nothing: it waits, not ready,
until `python -m deploy.migrate` (the Kubernetes Job) has migrated its schema, then serves."""

import asyncio
import contextlib

import asyncpg
import httpx
import pytest

from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import registry_settings
from tests.runtime.test_migration_step import run_migrate_job


async def test_the_registry_waits_for_the_migration_job(
    infra: Infra, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QV_MIGRATE_ON_START", "false")
    async with contextlib.AsyncExitStack() as stack:

        async def start() -> RunningRegistry:
            return await stack.enter_async_context(
                running_registry(registry_settings(infra, fresh_database))
            )

        starting = asyncio.create_task(start())
        try:
            await asyncio.sleep(3)
            assert not starting.done()
            conn = await asyncpg.connect(fresh_database)
            try:
                codes = await conn.fetchval("SELECT to_regclass('registry.verification_codes')")
                assert codes is None
            finally:
                await conn.close()

            job = await asyncio.to_thread(run_migrate_job, fresh_database)
            assert job.returncode == 0, job.stderr
            async with asyncio.timeout(60):
                running = await starting
        finally:
            starting.cancel()
        async with httpx.AsyncClient(base_url=running.public_url) as http:
            assert (await http.get("/check")).status_code == 200
