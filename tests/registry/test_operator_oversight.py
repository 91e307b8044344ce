"""What the operators watch through the registry: the trail of access to one code
(ListCodeAccess) and who streams outcomes (ListOutcomeSubscribers), over mutual TLS against a
real registry and PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from typing import Any, TypeVar

import asyncpg
import grpc
import httpx
import pytest

from qualverify.registry.v1 import registry_pb2
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.domain.codes import generate_code
from services.registry.domain.verifications import Region
from services.registry.store import SCHEMA
from services.registry.store.subscribers import SubscriberLog
from services.runtime.db import create_pool
from tests.infra import Infra
from tests.registry.support import (
    error_code,
    issue_request,
    refusal,
    region_value,
    registry_settings,
)

pytestmark = pytest.mark.integration

T = TypeVar("T")


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database, subscriber_write_seconds=0.2)
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def pool(registry: RunningRegistry, module_database: str) -> AsyncIterator[asyncpg.Pool]:
    opened = await create_pool(module_database, SCHEMA, min_size=1, max_size=2)
    yield opened
    await opened.close()


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float = 10) -> T:
    """The first truthy answer of `probe`, asked every 0.1 s for at most `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.1)


async def trail(stub: Any, code: str, **fields: Any) -> registry_pb2.ListCodeAccessResponse:
    response: registry_pb2.ListCodeAccessResponse = await stub.ListCodeAccess(
        registry_pb2.ListCodeAccessRequest(code=code, **fields)
    )
    return response


# The trail of access to one code


async def test_the_trail_lists_every_access_to_a_code_newest_first(
    stub: Any, registry: RunningRegistry
) -> None:
    holder_ref = "hr-trail-" + uuid.uuid4().hex[:8]
    # A listing of the holder before the code existed did not reach it.
    await stub.ListHolderVerifications(
        registry_pb2.ListHolderVerificationsRequest(holder_ref=holder_ref)
    )
    code = (await stub.seed(issue_request(holder_ref=holder_ref))).code
    other = (await stub.seed(issue_request())).code
    await stub.LookupCode(registry_pb2.LookupCodeRequest(code=other))  # not this code's trail

    await stub.LookupCode(registry_pb2.LookupCodeRequest(code=code))
    operator = stub.as_identity("operator")
    read = await operator.GetVerification(registry_pb2.GetVerificationRequest(code=code))
    async with httpx.AsyncClient(base_url=registry.public_url) as public:
        assert (await public.get(f"/v1/codes/{code}")).status_code == 200
    await stub.ListHolderVerifications(
        registry_pb2.ListHolderVerificationsRequest(holder_ref=holder_ref)
    )
    revoke = registry_pb2.RevokeCodeRequest(code=code, reason="certificate withdrawn by the body")
    await stub.RevokeCode(revoke)
    await stub.RevokeCode(revoke)  # idempotent, and recorded again

    # The operator reads the verification masked: no holder reference, the name masked.
    assert read.verification.holder_name == "Z**** W**" and not read.verification.holder_ref
    assert read.verification.region == registry_pb2.REGION_BEIJING

    accesses = (await trail(stub, code.replace("-", "").lower())).accesses
    seen = [(a.method, a.identity, a.outcome, a.scope) for a in accesses]
    code_scope, holder_scope = registry_pb2.ACCESS_SCOPE_CODE, registry_pb2.ACCESS_SCOPE_HOLDER
    assert seen == [
        ("RevokeCode", "operator", "already revoked", code_scope),
        ("RevokeCode", "operator", "revoked", code_scope),
        ("ListHolderVerifications", "beijing", "1 found", holder_scope),
        ("PublicCheck", "public", "found", code_scope),
        ("GetVerification", "operator", "found", code_scope),
        ("LookupCode", "beijing", "found", code_scope),
    ]
    times = [a.at.ToDatetime(tzinfo=UTC) for a in accesses]
    assert times == sorted(times, reverse=True)
    assert all(a.peer for a in accesses)


async def test_the_trail_comes_in_pages(stub: Any) -> None:
    code = (await stub.seed(issue_request())).code
    for _ in range(5):
        await stub.LookupCode(registry_pb2.LookupCodeRequest(code=code))
    everything = (await trail(stub, code)).accesses
    assert len(everything) == 5

    pages: list[Any] = []
    cursor = ""
    while True:
        page = await trail(stub, code, limit=2, cursor=cursor)
        pages.append(page.accesses)
        cursor = page.next_cursor
        if not cursor:
            break
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [a for page in pages for a in page] == list(everything)


async def test_an_unknown_code_has_no_trail(stub: Any) -> None:
    error = await refusal(trail(stub, str(generate_code())))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(error) == "not-found"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"code": ""}, "invalid-field"),
        ({"code": "not a code"}, "malformed-code"),
        ({"code": "0000-0000-0000-0000-1"}, "check-character-mismatch"),
        ({"code": "0" * 41}, "invalid-field"),
        ({"limit": 101}, "invalid-field"),
        ({"limit": -1}, "invalid-field"),
        ({"cursor": "not-a-cursor"}, "invalid-field"),
    ],
)
async def test_bad_trail_requests_are_invalid_arguments(
    stub: Any, fields: dict[str, Any], expected: str
) -> None:
    code = (await stub.seed(issue_request())).code
    error = await refusal(trail(stub, **({"code": code} | fields)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == expected


@pytest.mark.parametrize("identity", ["beijing", "tianjin", "hebei", "verifier"])
async def test_only_the_operator_reads_the_trail(stub: Any, identity: str) -> None:
    code = (await stub.seed(issue_request())).code
    request = registry_pb2.ListCodeAccessRequest(code=code)
    error = await refusal(stub.as_identity(identity).ListCodeAccess(request))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


# Who streams outcomes


async def add_outcomes(pool: asyncpg.Pool, region: str, count: int) -> list[int]:
    """Outcomes of `region` as the verdict consumer records them; their cursors."""
    rows = await pool.fetch(
        "INSERT INTO outcomes (event_id, request_id, region, qualification_id, holder_ref, "
        "verdict, decided_at) SELECT gen_random_uuid(), gen_random_uuid(), $1, 'acca-f491547a', "
        "'hr-stream', 'authentic', now() FROM generate_series(1, $2) RETURNING cursor",
        region,
        count,
    )
    return sorted(row["cursor"] for row in rows)


async def subscribers(stub: Any, region: str = "") -> list[Any]:
    response = await stub.ListOutcomeSubscribers(
        registry_pb2.ListOutcomeSubscribersRequest(region=region_value(region))
    )
    return list(response.subscribers)


async def test_a_subscription_is_listed_with_its_progress_and_its_end(
    stub: Any, pool: asyncpg.Pool
) -> None:
    cursors = await add_outcomes(pool, "tianjin", 3)
    start = cursors[0] - 1
    stream = stub.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_TIANJIN, after_cursor=start)
    )
    received = []
    async with asyncio.timeout(10):
        async for response in stream:
            received.append(response.outcome.cursor)
            if len(received) == 3:
                break
    assert received == cursors

    async def mine(*, connected: bool) -> Any:
        for subscriber in await subscribers(stub, "tianjin"):
            if subscriber.after_cursor == start and subscriber.connected == connected:
                return subscriber if subscriber.last_cursor == cursors[-1] else None
        return None

    open_one = await eventually(lambda: mine(connected=True))
    assert open_one.identity == "tianjin" and open_one.region == registry_pb2.REGION_TIANJIN
    assert open_one.peer and open_one.delivered == 3 and open_one.backlog == 0
    assert not open_one.HasField("disconnected_at")
    assert open_one.last_seen_at.ToDatetime() >= open_one.connected_at.ToDatetime()

    stream.cancel()
    closed = await eventually(lambda: mine(connected=False))
    assert closed.id == open_one.id
    assert closed.HasField("disconnected_at") and closed.delivered == 3

    await add_outcomes(pool, "tianjin", 2)
    behind = await eventually(lambda: mine(connected=False))
    assert behind.backlog == 2  # what it has not received since it left


async def test_a_subscription_left_unclosed_by_a_dead_registry_is_not_connected(
    stub: Any, pool: asyncpg.Pool
) -> None:
    lost_id = await pool.fetchval(
        "INSERT INTO outcome_subscribers (region, identity, peer, after_cursor, last_cursor, "
        "connected_at, last_seen_at) VALUES ('hebei', 'hebei', 'ipv4:10.0.0.9:4000', 0, 0, "
        "now() - interval '2 hours', now() - interval '1 hour') RETURNING id"
    )
    listed = {s.id: s for s in await subscribers(stub, "hebei")}
    assert not listed[lost_id].connected
    assert not listed[lost_id].HasField("disconnected_at")


async def test_subscribers_are_listed_by_region(stub: Any, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO outcome_subscribers (region, identity, peer, after_cursor, last_cursor, "
        "disconnected_at) VALUES ('beijing', 'beijing', 'ipv4:10.0.0.1:1', 0, 0, now()), "
        "('hebei', 'hebei', 'ipv4:10.0.0.2:1', 0, 0, now())"
    )
    assert {s.region for s in await subscribers(stub, "beijing")} == {registry_pb2.REGION_BEIJING}
    every = {s.region for s in await subscribers(stub)}
    assert {registry_pb2.REGION_BEIJING, registry_pb2.REGION_HEBEI} <= every


@pytest.mark.parametrize(
    "request_fields",
    [{"limit": 101}, {"limit": -1}, {"region": 9}],
)
async def test_bad_subscriber_requests_are_invalid_arguments(
    stub: Any, request_fields: dict[str, Any]
) -> None:
    request = registry_pb2.ListOutcomeSubscribersRequest(**request_fields)
    error = await refusal(stub.ListOutcomeSubscribers(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("identity", ["beijing", "tianjin", "hebei", "verifier"])
async def test_only_the_operator_lists_subscribers(stub: Any, identity: str) -> None:
    request = registry_pb2.ListOutcomeSubscribersRequest()
    error = await refusal(stub.as_identity(identity).ListOutcomeSubscribers(request))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_progress_is_written_in_one_statement_not_per_message(pool: asyncpg.Pool) -> None:
    log = SubscriberLog(pool, write_every_seconds=3600)  # its loop never runs here
    subscription = await log.open(Region.HEBEI, "hebei", "ipv4:10.0.0.3:1", after_cursor=7)
    for cursor in range(8, 208):
        subscription.deliver(cursor)

    async def row() -> tuple[int, int, object]:
        found = await pool.fetchrow(
            "SELECT last_cursor, delivered, disconnected_at FROM outcome_subscribers WHERE id = $1",
            subscription.id,
        )
        assert found is not None
        return found["last_cursor"], found["delivered"], found["disconnected_at"]

    assert await row() == (7, 0, None)  # nothing written per message

    await log.write()
    assert await row() == (207, 200, None)

    SubscriberLog.close(subscription)
    await log.write()
    ended = await row()
    assert ended[2] is not None
    await log.write()  # forgotten once its end is written
    assert await row() == ended


async def test_old_closed_subscriptions_are_pruned(pool: asyncpg.Pool) -> None:
    ids = await pool.fetch(
        "INSERT INTO outcome_subscribers (region, identity, peer, after_cursor, last_cursor, "
        "disconnected_at) VALUES ('beijing', 'beijing', 'p', 0, 0, now() - interval '40 days'), "
        "('beijing', 'beijing', 'p', 0, 0, now() - interval '2 days') RETURNING id"
    )
    await SubscriberLog(pool).prune()
    left = await pool.fetch(
        "SELECT id FROM outcome_subscribers WHERE id = ANY($1::bigint[])", [r["id"] for r in ids]
    )
    assert [r["id"] for r in left] == [ids[1]["id"]]
