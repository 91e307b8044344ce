"""Any HTTP endpoint of a service answers 503 + Retry-After, a bilingual problem, while
PostgreSQL is away (instead of a bare 500)."""

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.runtime.observability import database_away_handlers


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        # What asyncpg raises on a connection the server terminated mid-transaction.
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
    ],
)
async def test_a_database_outage_is_a_503_problem_with_retry_after(error: Exception) -> None:
    async def needs_the_database(_: Request) -> Response:
        raise error

    app = Starlette(
        routes=[Route("/v1/answers", needs_the_database, methods=["POST"])],
        exception_handlers=database_away_handlers(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        response = await http.post("/v1/answers")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"] == "/problems/service-unavailable"
    assert body["instance"] == "/v1/answers"
    assert body["message"]["zh"] and body["message"]["en"]
