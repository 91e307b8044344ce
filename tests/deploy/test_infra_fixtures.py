"""The shared fixtures: infra choice, a working Kafka and PostgreSQL, isolated databases."""

from __future__ import annotations

import asyncpg
import pytest

from tests.deploy.deploy_test_support import kafka_round_trip
from tests.infra import Infra, InfraUnavailable, database_url_for, infra_mode, provide_infra


async def test_infra_kafka_carries_a_message(infra: Infra) -> None:
    assert (await kafka_round_trip(infra.kafka_bootstrap_servers)).startswith(b"hello")


async def test_fresh_databases_are_empty_and_isolated(infra: Infra, fresh_database: str) -> None:
    assert fresh_database != infra.database_url
    mine = await asyncpg.connect(fresh_database)
    try:
        assert await mine.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'") == 0
        await mine.execute("CREATE TABLE only_here (id int)")
        name = await mine.fetchval("SELECT current_database()")
    finally:
        await mine.close()
    server = await asyncpg.connect(infra.database_url)
    try:
        assert await server.fetchval("SELECT to_regclass('only_here')") is None
        assert await server.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name) == 1
    finally:
        await server.close()


async def test_module_database_is_shared_within_the_module(module_database: str) -> None:
    connection = await asyncpg.connect(module_database)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS shared (id int)")
    finally:
        await connection.close()


async def test_module_database_still_has_the_table(module_database: str) -> None:
    connection = await asyncpg.connect(module_database)
    try:
        assert await connection.fetchval("SELECT to_regclass('shared')::text") == "shared"
    finally:
        await connection.close()


def test_database_url_for_keeps_credentials_host_and_options() -> None:
    url = database_url_for("postgresql://u:p@db.example:6543/postgres?sslmode=require", "t_1")
    assert url == "postgresql://u:p@db.example:6543/t_1?sslmode=require"


def test_external_servers_are_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    monkeypatch.setenv("TEST_INFRA", "testcontainers")  # external wins: no Docker needed
    with provide_infra() as provided:
        assert provided == Infra("kafka.internal:9092", "postgresql://app@db.internal:5432/app")


def test_testcontainers_without_docker_engine_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    monkeypatch.setenv("TEST_INFRA", "testcontainers")
    with (
        pytest.raises(InfraUnavailable, match="needs a reachable Docker engine"),
        provide_infra(),
    ):
        pass


def test_an_unknown_infra_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INFRA", "cloud")
    with pytest.raises(InfraUnavailable, match="'cloud'"):
        infra_mode()
