"""Intake's notification settings over HTTP: e-mail recipients, webhook URLs and secrets."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import client_for, credit_code, intake_app, intake_pool, write_channels

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await intake_pool(module_database)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="module")
async def store(pool: asyncpg.Pool) -> IntakeStore:
    return IntakeStore(pool)


@pytest.fixture(scope="module")
def app(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return intake_app(store, write_channels(tmp_path_factory.mktemp("channels")))


_serial = iter(range(7000, 8000))


@pytest_asyncio.fixture
async def employer(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, credit_code(next(_serial))) as client:
        yield client


@pytest.mark.parametrize(
    "address",
    ["hr\u001c@example.cn", "hr\u0000@example.cn", "hr@exa mple.cn", "hr@@example.cn", "hr@cn"],
)
async def test_malformed_email_addresses_are_refused_with_a_pointer(
    employer: httpx.AsyncClient, pool: asyncpg.Pool, address: str
) -> None:
    response = await employer.put(
        "/v1/webhooks/emails", json={"addresses": ["hr@example.cn", address]}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/invalid-field"
    assert [e["pointer"] for e in problem["errors"]] == ["/addresses/1"]
    assert problem["message"]["zh"] and problem["message"]["en"]


async def test_valid_addresses_are_stored_normalised(employer: httpx.AsyncClient) -> None:
    response = await employer.put(
        "/v1/webhooks/emails", json={"addresses": ["HR@Example.CN", "招聘@例子.中国"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["addresses"] == ["HR@example.cn", "招聘@例子.中国"]
