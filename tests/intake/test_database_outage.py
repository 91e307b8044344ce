"""While PostgreSQL is away intake answers 503 with Retry-After, a bilingual problem, never
500; what needs no database (the catalogue, liveness) keeps answering."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.local.processes import free_port
from services.intake.store.repository import IntakeStore
from tests.intake.support import anonymous_client, application, intake_app, write_channels


@pytest_asyncio.fixture
async def unreachable_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool whose server is down: nothing listens on its port."""
    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", min_size=0, timeout=2
    )
    assert pool is not None
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def client(
    unreachable_pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = intake_app(IntakeStore(unreachable_pool), write_channels(tmp_path))
    async with anonymous_client(app) as client:
        client.headers["Authorization"] = "Bearer qv_key1d_s3cret"
        yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"] == "/problems/service-unavailable"
    assert body["status"] == 503
    assert body["message"]["zh"] and body["message"]["en"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/verifications"),
        ("GET", "/v1/verifications"),
        ("GET", "/v1/verifications/0b7f5d1e-5d0b-4d3c-9a53-1b1a2f7f8c11"),
        ("POST", "/v1/verification-batches"),
    ],
)
async def test_requests_needing_the_database_get_503_with_retry_after(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = [application()] if "batches" in path else application()
    response = await client.request(method, path, json=body if method == "POST" else None)
    assert_unavailable(response)


async def test_the_catalogue_and_liveness_do_not_need_the_database(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/catalogue/qualifications?limit=1")).status_code == 200
    live = await client.get("/livez")
    assert live.status_code == 200
