"""While PostgreSQL is away an RPC fails with UNAVAILABLE (retry later), not INTERNAL, and the
public code check answers 503 with Retry-After, not 500."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
import pytest_asyncio

from deploy.local.processes import free_port
from qualverify.registry.v1 import registry_pb2
from services.registry.api.public import PublicApi
from services.registry.api.servicer import RegistryService, ServiceParts, _handled
from services.registry.domain.statements import Issuer
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.check_budget import address_key
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.registry.store.outcomes import OutcomeStore
from services.registry.store.subscribers import SubscriberLog
from services.runtime.notifications import Signal


class Aborted(Exception):
    pass


class RecordingContext:
    """The two things `_handled` asks of a grpc.aio servicer context."""

    def __init__(self) -> None:
        self.status: grpc.StatusCode | None = None
        self.details = ""

    def time_remaining(self) -> float:
        return 5.0

    async def abort(self, code: grpc.StatusCode, details: str) -> Any:
        self.status, self.details = code, details
        raise Aborted


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
)
async def test_an_unreachable_database_is_unavailable(error: Exception) -> None:
    async def lookup() -> None:
        raise error

    context = RecordingContext()
    with pytest.raises(Aborted):
        await _handled("LookupCode", context, lookup)
    assert context.status is grpc.StatusCode.UNAVAILABLE
    assert "retry" in context.details and "请重试" in context.details


async def test_other_database_errors_stay_internal() -> None:
    async def lookup() -> None:
        raise asyncpg.exceptions.UndefinedTableError("relation does not exist")

    context = RecordingContext()
    with pytest.raises(Aborted):
        await _handled("LookupCode", context, lookup)
    assert context.status is grpc.StatusCode.INTERNAL


class StreamContext(RecordingContext):
    """What StreamOutcomes asks of its context: the Hebei system over mutual TLS."""

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def peer(self) -> str:
        return "ipv4:10.0.0.7:50000"

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"transport_security_type": [b"ssl"], "x509_common_name": [b"hebei"]}


@pytest_asyncio.fixture
async def dead_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool whose server is down: nothing listens on its port."""
    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", min_size=0, timeout=2
    )
    assert pool is not None
    yield pool
    await pool.close()


async def test_a_stream_opened_while_the_database_is_away_is_unavailable(
    dead_pool: asyncpg.Pool,
) -> None:
    parts = ServiceParts(
        catalogue=CatalogueStore(dead_pool),
        outcomes=OutcomeStore(dead_pool),
        signal=Signal(),
        audit=AuditLog(dead_pool),
        keys=SigningKeys(dead_pool, "test-passphrase"),
        subscribers=SubscriberLog(dead_pool),
    )
    service = RegistryService(CodeRepository(dead_pool), parts)
    context = StreamContext()
    request = registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_HEBEI)
    with pytest.raises(Aborted):
        async for _ in service.StreamOutcomes(request, context):
            pass
    assert context.status is grpc.StatusCode.UNAVAILABLE
    assert "retry" in context.details and "请重试" in context.details


@pytest_asyncio.fixture
async def public_http(dead_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """The public API on a pool whose server is down."""
    pool = dead_pool
    api = PublicApi(
        codes=CodeRepository(pool),
        catalogue=CatalogueStore(pool),
        audit=AuditLog(pool),
        keys=SigningKeys(pool, "test-passphrase"),
        pool=pool,
        issuer=Issuer("http://registry.test"),
        rate_limit="1000/minute",
        address_key=address_key("test-passphrase"),
    )
    transport = httpx.ASGITransport(app=api.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
        yield http


@pytest.mark.parametrize("path", ["/v1/codes/0EEN-2D2S-MS4A-PSD0-*", "/.well-known/jwks.json"])
async def test_the_public_check_answers_503_with_retry_after(
    public_http: httpx.AsyncClient, path: str
) -> None:
    response = await public_http.get(path)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"] == "/problems/service-unavailable"
    assert body["message"]["zh"] and body["message"]["en"]
