"""Migrations as a step of their own: `python -m deploy.migrate` migrates every service's
schema, and a service started with QV_MIGRATE_ON_START=false migrates nothing and waits for it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from deploy.migrate import SERVICES, MigrateSettings, migrate_all
from services.runtime.db import read_migrations
from services.runtime.startup import open_database
from services.verifier.store.repository import MIGRATIONS as VERIFIER_MIGRATIONS

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_migrate_job(database_url: str) -> subprocess.CompletedProcess[str]:
    """`python -m deploy.migrate` as the Kubernetes Job runs it."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.endswith(("_DATABASE_URL", "_SCHEMA_NAME"))
    }
    return subprocess.run(
        [sys.executable, "-m", "deploy.migrate"],
        cwd=REPO_ROOT,
        env=env | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def recorded(database_url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations')
    finally:
        await conn.close()
    return {row["name"] for row in rows}


async def test_a_service_that_must_not_migrate_waits_until_the_job_ran(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QV_MIGRATE_ON_START", "false")
    opening = asyncio.create_task(
        open_database(fresh_database, "verifier", VERIFIER_MIGRATIONS, poll_seconds=0.2)
    )
    try:
        await asyncio.sleep(1.5)
        assert not opening.done()
        assert "waiting for migrations applied by deploy.migrate" in caplog.text
        conn = await asyncpg.connect(fresh_database)
        try:  # it applied nothing itself
            assert await conn.fetchval("SELECT to_regclass('verifier.work')") is None
        finally:
            await conn.close()

        job = await asyncio.to_thread(run_migrate_job, fresh_database)
        assert job.returncode == 0, job.stderr

        async with asyncio.timeout(10):
            pool = await opening
    finally:
        opening.cancel()
    try:
        assert await pool.fetchval("SELECT count(*) FROM work") == 0
    finally:
        await pool.close()


async def test_the_job_migrates_every_service_once(fresh_database: str) -> None:
    job = await asyncio.to_thread(run_migrate_job, fresh_database)
    assert job.returncode == 0, job.stderr
    for service in SERVICES:
        names = {name for name, _ in read_migrations(service.migrations)}
        assert await recorded(fresh_database, service.schema) == names, service.service
    again = await migrate_all(MigrateSettings(DATABASE_URL=fresh_database))
    assert again == {service.service: [] for service in SERVICES}


async def test_by_default_a_service_migrates_its_own_schema(fresh_database: str) -> None:
    pool = await open_database(fresh_database, "verifier", VERIFIER_MIGRATIONS)
    await pool.close()
    names = {name for name, _ in read_migrations(VERIFIER_MIGRATIONS)}
    assert await recorded(fresh_database, "verifier") == names
