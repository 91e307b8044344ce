"""Loops that ride out outages: restarted after transient errors with backoff, reported not
ready meanwhile, bugs still surfacing; LISTEN connections re-established after the server
closes them."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from services.registry.domain.codes import parse_code
from services.registry.store import MIGRATIONS
from services.registry.store.codes import CodeRepository
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.notifications import Notifications
from services.runtime.resilience import (
    Backoff,
    Loops,
    LoopState,
    describe,
    keep_running,
    until_available,
)
from tests.registry.support import issue_code

QUICK = Backoff(initial_seconds=0.01, max_seconds=0.05, jitter_seconds=0.01)


async def test_a_loop_that_fails_transiently_is_restarted_and_not_ready_meanwhile() -> None:
    loops = Loops()
    states: list[str] = []
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        states.append(loops.states()["flaky"])
        if runs < 4:
            raise ConnectionRefusedError("database away")

    async with asyncio.timeout(5):
        await keep_running("flaky", flaky, loops, QUICK)
    assert runs == 4
    assert states == ["running"] * 4
    assert loops.states() == {"flaky": "stopped"}  # it returned by itself


async def test_a_loop_waiting_out_an_outage_is_not_ready_but_alive() -> None:
    loops = Loops()
    outage_over = asyncio.Event()

    async def blocked() -> None:
        if not outage_over.is_set():
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        await asyncio.Event().wait()

    slow = Backoff(initial_seconds=0.05, max_seconds=0.05, jitter_seconds=0)
    task = asyncio.create_task(keep_running("relay", blocked, loops, slow))
    await asyncio.sleep(0.02)
    assert loops.states() == {"relay": "retrying"}
    assert not loops.all_running() and not loops.any_stopped()
    outage_over.set()
    await asyncio.sleep(0.1)
    assert loops.all_running()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loops.any_stopped()


async def test_a_bug_in_a_loop_is_not_retried_and_surfaces() -> None:
    loops = Loops()
    runs = 0

    async def buggy() -> None:
        nonlocal runs
        runs += 1
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await keep_running("buggy", buggy, loops, QUICK)
    assert runs == 1
    assert loops.states() == {"buggy": LoopState.STOPPED.value}


async def test_a_loop_that_ran_healthy_for_long_restarts_at_once() -> None:
    loops = Loops()
    runs = 0

    async def once_healthy() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await asyncio.sleep(0.05)  # "long" with healthy_after below
            raise ConnectionResetError("server restarted")

    backoff = Backoff(initial_seconds=10, max_seconds=10, healthy_after_seconds=0.01)
    async with asyncio.timeout(2):  # no 10 s backoff: it was healthy before failing
        await keep_running("once", once_healthy, loops, backoff)
    assert runs == 2


async def test_start_up_waits_for_its_dependency() -> None:
    attempts = 0

    async def connect() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise OSError("connection refused")
        return "pool"

    assert await until_available("database", connect, QUICK) == "pool"
    assert attempts == 3


async def test_start_up_does_not_hide_a_configuration_error() -> None:
    async def misconfigured() -> None:
        raise ValueError("bad DSN")

    with pytest.raises(ValueError, match="bad DSN"):
        await until_available("database", misconfigured, QUICK)


@pytest_asyncio.fixture
async def registry_pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "registry")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


async def close_server_side(pool: asyncpg.Pool, database_url: str) -> None:
    """What a server restart does to every connection of `pool`: closes it from the server."""
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'registry' AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    await asyncio.sleep(0.1)


@pytest.mark.integration
async def test_listening_notices_the_server_closing_the_connection(
    registry_pool: asyncpg.Pool, fresh_database: str
) -> None:
    notifications = Notifications(registry_pool)
    notifications.signal("anything")
    listening = asyncio.create_task(notifications.run())
    async with asyncio.timeout(5):
        while not notifications.is_listening:
            await asyncio.sleep(0.01)
    await close_server_side(registry_pool, fresh_database)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        async with asyncio.timeout(5):
            await listening


@pytest.mark.integration
async def test_the_code_cache_follows_revocations_across_a_database_restart(
    registry_pool: asyncpg.Pool, fresh_database: str
) -> None:
    replica_a, replica_b = CodeRepository(registry_pool), CodeRepository(registry_pool)
    notifications = Notifications(registry_pool)
    replica_a.follow_revocations(notifications)
    connects: list[None] = []
    notifications.on("unused", lambda _: None, resync=lambda: connects.append(None))
    following = asyncio.create_task(
        keep_running("notifications", notifications.run, Loops(), QUICK)
    )
    try:
        async with asyncio.timeout(5):
            while not connects:
                await asyncio.sleep(0.02)
        await close_server_side(registry_pool, fresh_database)
        code = parse_code(await issue_code(replica_b))
        assert (await replica_a.by_code(code)) is not None  # now cached by replica a
        async with asyncio.timeout(5):
            while len(connects) < 2:  # listening again
                await asyncio.sleep(0.02)
        assert await replica_b.revoke(code, "fraud found", datetime.now(UTC)) is not None
        async with asyncio.timeout(5):
            while (seen := await replica_a.by_code(code)) is None or seen.revoked_at is None:
                await asyncio.sleep(0.02)
    finally:
        following.cancel()


def test_describe_names_an_errors_class_but_not_text_that_may_be_personal() -> None:
    assert describe(ValueError("Zhang San E12345678")) == "ValueError"
    assert "Zhang San" not in describe(asyncpg.exceptions.UniqueViolationError("Zhang San"))
    refused = describe(ConnectionRefusedError(111, "Connection refused"))
    assert "Connection refused" in refused  # an outage's cause stays readable
