"""The public check's budget holds across replicas: two registries' public APIs on one
database refuse a client's 31st check in a minute between them, and count clients under a
keyed hash of their address, never the address itself."""

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from limits import parse

from services.registry.api.public import PublicApi
from services.registry.domain.codes import generate_code
from services.registry.domain.statements import Issuer
from services.registry.store import MIGRATIONS, SCHEMA
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.check_budget import CheckBudget, address_key
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.runtime.db import apply_migrations, create_pool, read_migrations

KEY = address_key("budget-tests")


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, SCHEMA, max_size=4)
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


def public_api(pool: asyncpg.Pool) -> PublicApi:
    """One registry replica's public port (each its own pool, as separate processes have)."""
    return PublicApi(
        codes=CodeRepository(pool),
        catalogue=CatalogueStore(pool),
        audit=AuditLog(pool),
        keys=SigningKeys(pool, "budget-tests"),
        pool=pool,
        issuer=Issuer("http://registry.test"),
        rate_limit="30/minute",
        address_key=KEY,
    )


def client_of(api: PublicApi, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.app(), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://registry")


async def test_two_replicas_refuse_the_31st_check_of_a_client_between_them(
    fresh_database: str, pool: asyncpg.Pool
) -> None:
    other_pool = await create_pool(fresh_database, SCHEMA, max_size=4)
    replicas = [public_api(pool), public_api(other_pool)]
    address = "198.51.100.23"
    path = f"/v1/codes/{generate_code()}"
    try:
        async with client_of(replicas[0], address) as a, client_of(replicas[1], address) as b:
            statuses = [(await (a, b)[i % 2].get(path)).status_code for i in range(30)]
            assert statuses == [404] * 30  # a well-formed code never issued
            refused = await b.get(path)
            again = await a.get(path)
            async with client_of(replicas[1], "198.51.100.24") as neighbour:
                assert (await neighbour.get(path)).status_code == 404
    finally:
        await other_pool.close()

    assert (refused.status_code, again.status_code) == (429, 429)
    assert refused.headers["content-type"] == "application/problem+json"
    # Sliding window: a full minute weighs on into the next one for 1/30 of it (2 s more).
    assert 1 <= int(refused.headers["retry-after"]) <= 62
    problem = refused.json()
    assert problem["type"] == "/problems/rate-limited"
    assert problem["message"] == {
        "zh": "查询过于频繁，请稍后再试",
        "en": "Too many checks from this address; try again later",
    }

    rows = await pool.fetch("SELECT client_key, hits FROM public_check_hits")
    assert sorted(row["hits"] for row in rows) == [1, 30]  # refusals are not counted
    for row in rows:
        assert len(row["client_key"]) == 32
        assert address.encode() not in row["client_key"]
    budget = CheckBudget(pool, parse("30/minute"), KEY)
    assert budget.client_key(address) in {row["client_key"] for row in rows}
    assert CheckBudget(pool, parse("30/minute"), address_key("other")).client_key(address) not in {
        row["client_key"] for row in rows
    }


async def test_windows_no_longer_looked_at_are_pruned(pool: asyncpg.Pool) -> None:
    budget = CheckBudget(pool, parse("5/second"), KEY)
    await pool.execute(
        "INSERT INTO public_check_hits (client_key, window_no, hits) VALUES ($1, 1, 3), ($1, 2, 4)",
        budget.client_key("203.0.113.9"),
    )
    assert (await budget.spend("203.0.113.9")).admitted
    windows = await pool.fetch("SELECT window_no FROM public_check_hits")
    assert [row["window_no"] for row in windows] != [] and all(
        row["window_no"] > 2 for row in windows
    )


async def test_a_refusal_says_when_the_next_check_fits(pool: asyncpg.Pool) -> None:
    budget = CheckBudget(pool, parse("3/minute"), KEY)
    spent = [await budget.spend("203.0.113.10") for _ in range(4)]
    assert [s.admitted for s in spent] == [True, True, True, False]
    assert 1 <= spent[-1].retry_after_seconds <= 120
