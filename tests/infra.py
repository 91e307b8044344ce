"""Which Kafka and PostgreSQL the tests talk to, and the fixtures that hand them out.

Choice, made separately for Kafka and for PostgreSQL:

1. ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` set: use that external server.
2. ``TEST_INFRA=testcontainers``: start a container (needs a reachable Docker engine;
   images from ``TEST_KAFKA_IMAGE`` / ``TEST_POSTGRES_IMAGE``).
3. Otherwise (``TEST_INFRA`` unset or ``local``): start ``LocalKafka`` / ``LocalPostgres``
   as child processes on free ports in a temporary directory, stopped at session end.

Tests should not share tables: ask for ``fresh_database`` (one empty database per test)
or ``module_database`` (one per test module) rather than ``infra.database_url``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from deploy.local.kafka import LocalKafka
from deploy.local.postgres import LocalPostgres
from deploy.local.processes import free_port
from services.runtime.event_auth import write_event_keys

DEFAULT_TEST_KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
DEFAULT_TEST_POSTGRES_IMAGE = "postgres:18"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str


class InfraUnavailable(RuntimeError):
    """The requested kind of test infrastructure cannot be provided here."""


def infra_mode() -> str:
    mode = os.environ.get("TEST_INFRA", "local").strip().lower() or "local"
    if mode not in {"local", "testcontainers"}:
        raise InfraUnavailable(f"TEST_INFRA={mode!r} is not one of 'local', 'testcontainers'")
    return mode


@contextmanager
def provide_infra() -> Iterator[Infra]:
    """Start (or find) Kafka and PostgreSQL for as long as the context is open."""
    external_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
    external_database = os.environ.get("DATABASE_URL") or None
    mode = infra_mode()
    with ExitStack() as stack:
        if mode == "testcontainers" and not (external_kafka and external_database):
            kafka, database = _containers(
                stack, need_kafka=not external_kafka, need_database=not external_database
            )
        elif mode == "local":
            kafka, database = _local_processes(
                stack, need_kafka=not external_kafka, need_database=not external_database
            )
        else:
            kafka, database = None, None
        yield Infra(
            kafka_bootstrap_servers=external_kafka or _required(kafka),
            database_url=external_database or _required(database),
        )


def _required(value: str | None) -> str:
    if value is None:
        raise AssertionError("infrastructure was neither external nor started")
    return value


def _local_processes(
    stack: ExitStack, *, need_kafka: bool, need_database: bool
) -> tuple[str | None, str | None]:
    if not (need_kafka or need_database):
        return None, None
    temporary = tempfile.TemporaryDirectory(prefix="qv-infra-", ignore_cleanup_errors=True)
    root = Path(stack.enter_context(temporary))
    kafka: LocalKafka | None = None
    postgres: LocalPostgres | None = None
    if need_kafka:
        # The JVM boots while PostgreSQL initialises; both run from this thread so that
        # their parent-death signal is tied to the (long-lived) main thread.
        kafka = LocalKafka(root / "kafka", port=free_port(), controller_port=free_port())
        stack.callback(kafka.stop)
        kafka.spawn()
    if need_database:
        postgres = LocalPostgres(root / "postgres", port=free_port(), durable=False)
        stack.callback(postgres.stop)
        postgres.start()
    if kafka is not None:
        kafka.wait_ready()
    return (
        kafka.bootstrap_servers if kafka is not None else None,
        postgres.dsn if postgres is not None else None,
    )


def _containers(
    stack: ExitStack, *, need_kafka: bool, need_database: bool
) -> tuple[str | None, str | None]:
    _require_docker_engine()
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    kafka: str | None = None
    database: str | None = None
    if need_kafka:
        image = os.environ.get("TEST_KAFKA_IMAGE", DEFAULT_TEST_KAFKA_IMAGE)
        container = (
            KafkaContainer(image)
            .with_kraft()
            .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        )
        stack.enter_context(container)
        kafka = str(container.get_bootstrap_server())
    if need_database:
        image = os.environ.get("TEST_POSTGRES_IMAGE", DEFAULT_TEST_POSTGRES_IMAGE)
        postgres = PostgresContainer(image, driver=None)
        stack.enter_context(postgres)
        database = str(postgres.get_connection_url())
    return kafka, database


def _require_docker_engine() -> None:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception as error:
        raise InfraUnavailable(
            "TEST_INFRA=testcontainers needs a reachable Docker engine, and none answered "
            f"({type(error).__name__}: {error}). Unset TEST_INFRA to use local processes, "
            "or set KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL to use existing servers."
        ) from error


# ------------------------------------------------------------------ per-test databases


def database_url_for(server_url: str, database: str) -> str:
    """``server_url`` with its database name replaced, keeping credentials and options."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, factory()).result()


async def _execute(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(server_url, timeout=30)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _create(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url, timeout=30)
    try:
        # FILE_COPY (PostgreSQL 15+) is several times faster than the default WAL_LOG
        # strategy for a tiny template on a test server.
        fast = connection.get_server_version().major >= 15
        strategy = " STRATEGY FILE_COPY" if fast else ""
        await connection.execute(f'CREATE DATABASE "{name}"{strategy}')
    finally:
        await connection.close()


def create_database(server_url: str, prefix: str = "test") -> tuple[str, str]:
    """Create an empty database; returns ``(name, url)``."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    _run_coroutine(lambda: _create(server_url, name))
    return name, database_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    _run_coroutine(lambda: _execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    name, url = create_database(server_url)
    try:
        yield url
    finally:
        drop_database(server_url, name)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        with provide_infra() as provided:
            yield provided
    except InfraUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def event_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One event signing key set for the session, in the environment of every service process
    and in-process consumer the tests start (EVENT_SIGNING_KEY_DIR, EVENT_TRUST_DIR)."""
    keys = write_event_keys(tmp_path_factory.mktemp("event-keys"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVENT_SIGNING_KEY_DIR", str(keys))
        env.setenv("EVENT_TRUST_DIR", str(keys))
        yield keys


@pytest.fixture
def fresh_database(infra: Infra) -> Iterator[str]:
    """URL of a new, empty database for this test, dropped afterwards."""
    with temporary_database(infra.database_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_database(infra: Infra) -> Iterator[str]:
    """URL of a new, empty database shared by the tests of one module."""
    with temporary_database(infra.database_url) as url:
        yield url
