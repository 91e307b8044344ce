"""Taking over abandoned work, in-process on real PostgreSQL and the simulator: a request whose
verifier died is finished by the sweeper; one that keeps failing is given up, not retried for
ever; a request taken on twice is worked on once."""

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import grpc
import pytest

from services.reference.channels import ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.events.requests import RequestVerifier
from services.verifier.registry_client import RegistryClient
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from simulator.population import find
from simulator.server import RunningSimulator
from tests.verifier.support import SEED, channel_book, request_for

BODY = "take-api"


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


def verifier_for(
    pool: asyncpg.Pool, simulator: RunningSimulator, owner: str
) -> tuple[RequestVerifier, RegistryClient]:
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    contacts = BodyContacts(channel_book({BODY: "credential_api"}), simulator.base_url, channels)
    # Nothing here is authentic, so the registry is never called; an unused port proves it.
    registry = RegistryClient("127.0.0.1:9", grpc.ssl_channel_credentials(), timeout_seconds=1)
    verifier = RequestVerifier(
        contacts, registry, VerifierStore(pool), owner=owner, lease_seconds=1, max_takeovers=2
    )
    return verifier, registry


async def expire_leases(pool: asyncpg.Pool, takeovers: int = 0) -> None:
    await pool.execute(
        "UPDATE work SET lease_until = now() - interval '1 second', takeovers = $1", takeovers
    )


async def verdict_of(pool: asyncpg.Pool, request_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM verdicts WHERE request_id = $1", request_id)


async def test_a_dead_verifiers_request_is_taken_over_and_finished(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY, "revoked")
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    # "dead" claims the request and dies before working on it.
    await VerifierStore(pool).take_on([(request, None)], "dead", 1, {})
    assert await verdict_of(pool, request.request_id) is None
    verifier, registry = verifier_for(pool, simulator, "alive")
    assert await verifier.sweep() == 0  # the lease has not expired yet
    await expire_leases(pool)
    assert await verifier.sweep() == 1
    await verifier.drain()
    verdict = await verdict_of(pool, request.request_id)
    assert verdict is not None and verdict["verdict"] == "not_authentic"
    work = await pool.fetchrow("SELECT owner, state, takeovers FROM work")
    assert work is not None and dict(work) == {"owner": "alive", "state": "decided", "takeovers": 1}
    assert await verifier.sweep() == 0  # decided work is never taken again
    await registry.close()


async def test_a_request_that_keeps_failing_is_given_up(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY)
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    await VerifierStore(pool).take_on([(request, None)], "dead", 1, {})
    await expire_leases(pool, takeovers=2)
    verifier, registry = verifier_for(pool, simulator, "alive")
    assert await verifier.sweep() == 1
    await verifier.drain()
    verdict = await verdict_of(pool, request.request_id)
    assert verdict is not None and verdict["verdict"] == "unable_to_verify"
    assert "gave up" in verdict["checks"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # its VerdictReached
    await registry.close()


async def test_a_request_consumed_twice_is_taken_on_once(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY, "expired")
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    verifier, registry = verifier_for(pool, simulator, "alive")
    await verifier.take_on([(request, None)])
    await verifier.take_on([(request, None)])  # redelivered while in flight
    await verifier.drain()
    await verifier.take_on([(request, None)])  # redelivered after the verdict
    await verifier.drain()
    assert await pool.fetchval("SELECT count(*) FROM verdicts") == 1
    assert await pool.fetchval("SELECT count(*) FROM evidence") == 1
    topics = [row["topic"] for row in await pool.fetch("SELECT topic FROM outbox ORDER BY id")]
    assert len(topics) == 2, topics  # one VerificationProgressed, one VerdictReached
    await registry.close()
